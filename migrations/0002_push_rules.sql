-- Up Migration
-- Push rules: each user's own rules (ordered within their kind) and the user's changes to the server-default rules
-- (enabled, actions). The defaults themselves live in code; push_rules_stream stamps every change for /sync.
CREATE TABLE push_rules (
  user_id text NOT NULL REFERENCES users ON DELETE CASCADE,
  -- override, content, room, sender or underride
  kind text NOT NULL CHECK (kind IN ('override', 'content', 'room', 'sender', 'underride')),
  rule_id text NOT NULL,
  -- order within the kind: 0 is the most important user-defined rule
  position integer NOT NULL,
  enabled boolean NOT NULL DEFAULT true,
  actions jsonb NOT NULL,
  -- override and underride rules only
  conditions jsonb,
  -- content rules only
  pattern text,
  PRIMARY KEY (user_id, kind, rule_id)
);
CREATE INDEX push_rules_order ON push_rules (user_id, kind, position);

-- A user's changes to a server-default rule; NULL keeps the default's value.
CREATE TABLE push_rule_defaults (
  user_id text NOT NULL REFERENCES users ON DELETE CASCADE,
  kind text NOT NULL,
  rule_id text NOT NULL,
  enabled boolean,
  actions jsonb,
  PRIMARY KEY (user_id, kind, rule_id)
);

-- The stream position of each user's last push-rule change (m.push_rules account data in /sync). The row is also
-- the per-user lock that serialises push-rule writes.
CREATE TABLE push_rules_stream (
  user_id text PRIMARY KEY REFERENCES users ON DELETE CASCADE,
  stream_pos bigint NOT NULL
);
CREATE INDEX push_rules_stream_pos ON push_rules_stream (stream_pos);
