SELECT (SELECT epoch FROM schakel_incarnation WHERE id = 1) AS epoch
