------------------------------------------------------------------------------
-- Feedback on recommendations: the impressions a recommender's lists made
-- (written by the application or the online logging), the interactions that
-- followed them (mlsys.record_interactions), and the click-through that
-- mlsys.performance and mlsys.check watch as a recommender's live metric.
--
-- An impression is one list shown to one user: the item ids in rank order
-- with their scores, when it was shown, and which of its items the user then
-- interacted with (clicked, a set in rank order; NULL until one is marked).
-- An interaction counts for an impression when it is the same user and item
-- and happens at or after shown_at and before shown_at + the model's
-- "interaction_window" setting (default 7 days).
------------------------------------------------------------------------------

CREATE TABLE mlsys.impressions (
    id        bigserial PRIMARY KEY,
    model     text NOT NULL,
    version   int NOT NULL,
    user_id   bigint NOT NULL,
    item_ids  bigint[] NOT NULL,
    scores    float8[] NOT NULL,
    shown_at  timestamptz NOT NULL DEFAULT now(),
    clicked   bigint[],
    scored_by name NOT NULL DEFAULT CURRENT_USER
);
-- mlsys.performance and pruning read a model's impressions by time;
-- mlsys.record_interactions looks a user's impressions up within the window
CREATE INDEX impressions_model_time_idx ON mlsys.impressions (model, shown_at);
CREATE INDEX impressions_model_user_idx ON mlsys.impressions (model, user_id, shown_at);
COMMENT ON TABLE mlsys.impressions IS
'Recommendation lists shown to users: model, version, user, the items in rank order with their scores, when they were shown, and the items the user then interacted with (clicked, filled in by mlsys.record_interactions).';
SELECT pg_catalog.pg_extension_config_dump('mlsys.impressions', '');
SELECT pg_catalog.pg_extension_config_dump('mlsys.impressions_id_seq', '');
