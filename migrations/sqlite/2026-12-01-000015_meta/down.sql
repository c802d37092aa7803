DROP TABLE sentlog_meta;
