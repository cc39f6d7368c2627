"""What the float models (``flowzip.models``, torch) and their exact twins (``flowzip.flows``,
numpy) share: the level walk of a multi-scale flow, written once for every family and both forms
(``multiscale``), the contract of their layers (``protocols.Bijection``) and the numbers they agree
on (``constants``)."""
