"""Images in and out: ``image`` turns files, bytes, arrays and PIL images into ``Picture``s and
writes them back; ``pngfile`` reads and writes every PNG exactly (its rows: ``classical.pngrows``)."""
