"""Who may do what: principals and scopes, token secrets, rate limits (docs/security.md).

HTTP lives in `api/auth.py` (dependencies) and `api/edge.py` (Host, Origin, content
type); the tokens' rows in `store/tokens.py`.
"""
