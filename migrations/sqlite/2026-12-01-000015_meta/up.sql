-- What sentlog keeps about itself: which error table the stored categories follow
-- (a new table recategorises the stored messages once, in batches, after start).
CREATE TABLE sentlog_meta (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
