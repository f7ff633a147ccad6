INSERT INTO schakel_flush (writer, flushes) VALUES ($1, 1)
ON CONFLICT (writer) DO UPDATE SET flushes = schakel_flush.flushes + 1
