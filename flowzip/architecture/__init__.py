"""What the float models (``flowzip.models``, torch) and their exact twins (``flowzip.flows``,
numpy) share: the numbers they agree on (``constants``)."""
