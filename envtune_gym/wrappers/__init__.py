"""Single-purpose Gymnasium wrappers (progress reward, format reward, hints, curriculum) live here."""

__all__: list[str] = []
