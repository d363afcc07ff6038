-- The mail server schema of the workaround.org ISPmail tutorial (seed
-- document 002), in SQLite syntax, with its test data: one domain, two
-- mailboxes, an alias, a catch-all and the "john-to-himself" rows.
CREATE TABLE virtual_domains (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL
);
CREATE TABLE virtual_users (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  domain_id INTEGER NOT NULL REFERENCES virtual_domains(id) ON DELETE CASCADE,
  email TEXT NOT NULL UNIQUE,
  password TEXT NOT NULL,
  quota INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE virtual_aliases (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  domain_id INTEGER NOT NULL REFERENCES virtual_domains(id) ON DELETE CASCADE,
  source TEXT NOT NULL,
  destination TEXT NOT NULL
);
INSERT INTO virtual_domains (id, name) VALUES (1, 'example.org');
INSERT INTO virtual_users (domain_id, email, password) VALUES
  (1, 'john@example.org', '{BLF-CRYPT}$2y$05$.WedBCNZiwxY1CG3aleIleu6lYjup2CIg0.P4M4B0e.mPFy5ydnWW'),
  (1, 'jane@example.org', '{BLF-CRYPT}$2y$05$.WedBCNZiwxY1CG3aleIleu6lYjup2CIg0.P4M4B0e.mPFy5ydnWW');
INSERT INTO virtual_aliases (domain_id, source, destination) VALUES
  (1, 'jack@example.org', 'john@example.org'),
  (1, 'team@example.org', 'john@example.org'),
  (1, 'team@example.org', 'jane@example.org'),
  (1, '@example.org', 'john@example.org'),
  (1, 'john@example.org', 'john@example.org');
