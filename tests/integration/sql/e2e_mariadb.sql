-- Virtual domains, mailboxes and aliases for the end-to-end test
-- (tests/integration/test_e2e.py): a typical virtual-hosting schema read by
-- Postfix through proxy:mysql: tables answered by proxyd.
CREATE TABLE domains (
  domain VARCHAR(255) NOT NULL PRIMARY KEY
);
CREATE TABLE mailboxes (
  email VARCHAR(255) NOT NULL PRIMARY KEY,
  maildir VARCHAR(255) NOT NULL
);
CREATE TABLE aliases (
  address VARCHAR(255) NOT NULL PRIMARY KEY,
  goto TEXT NOT NULL
);
INSERT INTO domains VALUES ('e2e.example');
INSERT INTO mailboxes VALUES ('alice@e2e.example', 'e2e.example/alice/');
INSERT INTO mailboxes VALUES ('bob@e2e.example', 'e2e.example/bob/');
INSERT INTO mailboxes VALUES ('carol@e2e.example', 'e2e.example/carol/');
INSERT INTO aliases VALUES ('postmaster@e2e.example', 'alice@e2e.example');
INSERT INTO aliases VALUES ('team@e2e.example', 'alice@e2e.example,bob@e2e.example');
