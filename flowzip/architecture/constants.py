"""Numbers shared by the float models (``flowzip.models``) and their exact twins
(``flowzip.flows``); no torch here."""

from ..entropy.tables import LOG_SCALE_MAX, LOG_SCALE_MIN  # the IDF priors' log-scales are clamped to
# the range the coder's integer tables cover

__all__ = ["LOG_SCALE_MAX", "LOG_SCALE_MIN", "PIXEL_OFFSET", "TRANSLATION_LIMIT", "SCALE_LIMIT", "PRIOR_LOG_SCALE",
           "CONVNET_INPUT_SCALE"]
PIXEL_OFFSET = 128  # the IDF's pixels enter the flow centred: x - 128
TRANSLATION_LIMIT = 2.0**15  # |integer coupling translation| bound: latents stay codable
SCALE_LIMIT = 1.5  # the Glow's coupling log-scales are squashed into (-1.5, 1.5)
PRIOR_LOG_SCALE = (-9.0, 3.0)  # the Glow's logistic prior log-scales (the coder needs them bounded)
CONVNET_INPUT_SCALE = 1 / 64  # the default input scale of the conditioner networks (IDF)
