INSERT INTO schakel_incarnation (id, epoch) VALUES (1, $1) ON CONFLICT (id) DO NOTHING
