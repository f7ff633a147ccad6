-- Consent decisions recorded, and withdrawals made, in [$1, $2) (unix ms),
-- per gemeente the consent names as recipient. Each event counts once in the
-- period it happened, so a closed period's numbers never change.
SELECT recipient_oin AS gemeente_oin, 'given' AS event, COUNT(*) AS n FROM consents
WHERE status <> 'refused' AND recorded_at >= $1 AND recorded_at < $2 GROUP BY recipient_oin
UNION ALL
SELECT recipient_oin, 'refused', COUNT(*) FROM consents
WHERE status = 'refused' AND recorded_at >= $1 AND recorded_at < $2 GROUP BY recipient_oin
UNION ALL
SELECT recipient_oin, 'withdrawn', COUNT(*) FROM consents
WHERE withdrawn_at >= $1 AND withdrawn_at < $2 GROUP BY recipient_oin
