INSERT INTO audit_parties (seq, oin) VALUES ($1, $2)
