"""Float image models for training and estimates (torch): they know nothing about coding.
``flowzip.families`` maps a family name to its model and config classes; ``constants`` holds the
numbers the models share with their exact twins."""
