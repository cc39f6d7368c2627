"""Numbers shared by the float models and their exact twins in ``flowzip.coding`` (no torch here,
so that coding does not import it)."""

LOG_SCALE_MIN = -3.5  # the IDF priors' log-scales are clamped to this range; the coder's integer
LOG_SCALE_MAX = 6.5  # tables (coding.tables) cover exactly it
PIXEL_OFFSET = 128  # the IDF's pixels enter the flow centred: x - 128
TRANSLATION_LIMIT = 2.0**15  # |integer coupling translation| bound: latents stay codable
SCALE_LIMIT = 1.5  # the Glow's coupling log-scales are squashed into (-1.5, 1.5)
PRIOR_LOG_SCALE = (-9.0, 3.0)  # the Glow's logistic prior log-scales (the coder needs them bounded)
CONVNET_INPUT_SCALE = 1 / 64  # the default input scale of the conditioner networks (IDF)
