-- Alerts: one row per firing of a rule for one subject (a route, a target, a partner, a kind of
-- exception), kept after it resolves; and every notification of it to each channel, sent from
-- this table (an outbox), so a restart neither loses nor repeats one.

CREATE TABLE alerts (
    id           INTEGER PRIMARY KEY,
    rule         TEXT    NOT NULL,  -- the rule's name in the sync map
    subject      TEXT    NOT NULL,  -- what it is about: a route, a system, an exception kind, or '*'
    severity     TEXT    NOT NULL,  -- info, warning, critical
    state        TEXT    NOT NULL,  -- pending (holds, not yet for long enough), firing, resolved
    summary      TEXT    NOT NULL,  -- one sentence, as last evaluated
    detail       TEXT,              -- JSON: the figures behind it
    since_us     INTEGER NOT NULL,  -- the condition was first seen holding
    fired_us     INTEGER,           -- first fired
    seen_us      INTEGER NOT NULL,  -- last seen holding
    notified_us  INTEGER,           -- last notified (firing, or again after the rule's renotify)
    resolved_us  INTEGER
);
-- at most one live alert per rule and subject, whoever evaluates
CREATE UNIQUE INDEX alerts_live ON alerts (rule, subject) WHERE state IN ('pending', 'firing');
CREATE INDEX alerts_recent ON alerts (state, id);

CREATE TABLE alert_notifications (
    id           INTEGER PRIMARY KEY,
    alert_id     INTEGER REFERENCES alerts (id),  -- NULL for `logisync alerts test`
    channel      TEXT    NOT NULL,  -- the channel's name in the sync map
    event        TEXT    NOT NULL,  -- firing, renotify, resolved, test
    state        TEXT    NOT NULL,  -- pending, sent, failed (gave up)
    message      TEXT    NOT NULL,  -- JSON: what is sent, fixed when the event happened
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_us      INTEGER NOT NULL,  -- due then (while an attempt runs: when its lease runs out)
    created_us   INTEGER NOT NULL,
    updated_us   INTEGER NOT NULL,
    sent_us      INTEGER,
    last_error   TEXT
);
CREATE INDEX alert_notifications_due ON alert_notifications (state, next_us);
CREATE INDEX alert_notifications_alert ON alert_notifications (alert_id, id);
