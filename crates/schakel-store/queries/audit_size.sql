SELECT next_seq FROM audit_head WHERE id = 1
