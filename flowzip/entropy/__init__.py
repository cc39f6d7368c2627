"""The entropy coders, the bottom of the coding stack: ANS stacks of 32-bit words that flows and
the classical coder push symbols onto (``protocols.EntropyStack``): constriction's (``ans``, coder 1,
the only constriction import; with ``logistic``, its logistic codec over categorical windows) and
flowzip's own range ANS (``rans``, coder 2); the integer probability tables of the discretized
logistic (``tables``); and the classical coder's adaptive binary range coder (``rangecoder``)."""
