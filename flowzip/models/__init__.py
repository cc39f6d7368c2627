"""Float image models for training and estimates (torch): they know nothing about coding.
``flowzip.families`` maps a family name to its model and config classes; the level walk and the
numbers they share with their exact twins are in ``flowzip.architecture``; ``adaptation`` fits
a model to the images being coded."""
