-- workaround.org "ISPmail" tutorial schema (seed 002) translated to
-- PostgreSQL (serial instead of auto_increment, no ENGINE/CHARSET), with the
-- tutorial's test data (example.org, john@, jack@ -> john@, catch-all
-- @example.org, "john-to-himself"). Edge rows are in ../edge_data.sql.
CREATE TABLE virtual_domains (
 id serial PRIMARY KEY,
 name varchar(50) NOT NULL
);
CREATE TABLE virtual_users (
 id serial PRIMARY KEY,
 domain_id int NOT NULL REFERENCES virtual_domains(id) ON DELETE CASCADE,
 email varchar(100) NOT NULL UNIQUE,
 password varchar(150) NOT NULL,
 quota bigint NOT NULL DEFAULT 0
);
CREATE TABLE virtual_aliases (
 id serial PRIMARY KEY,
 domain_id int NOT NULL REFERENCES virtual_domains(id) ON DELETE CASCADE,
 source varchar(100) NOT NULL,
 destination varchar(100) NOT NULL
);
CREATE TABLE edge (
 id serial PRIMARY KEY,
 k varchar(3000) NOT NULL,
 v varchar(3000) NULL,
 v2 varchar(255) NULL
);
-- For pgsql's legacy select_function: SELECT edge_lookup('%s').
CREATE FUNCTION edge_lookup(key_in text) RETURNS SETOF text
  LANGUAGE sql STABLE AS $$ SELECT v FROM edge WHERE k = key_in ORDER BY id $$;

INSERT INTO virtual_domains (id,name) VALUES (1,'example.org');
INSERT INTO virtual_users (id,domain_id,password,email)
  VALUES (1, 1, '{BLF-CRYPT}$2y$05$.WedBCNZiwxY1CG3aleIleu6lYjup2CIg0BP4M4YCZsO204Czz07W', 'john@example.org');
INSERT INTO virtual_aliases (id,domain_id,source,destination)
  VALUES (1, 1, 'jack@example.org', 'john@example.org');
INSERT INTO virtual_aliases (id,domain_id,source,destination)
  VALUES (2, 1, '@example.org', 'john@example.org');
INSERT INTO virtual_aliases (id,domain_id,source,destination)
  VALUES (3, 1, 'john@example.org', 'john@example.org');
SELECT setval('virtual_domains_id_seq', 100);
SELECT setval('virtual_users_id_seq', 100);
SELECT setval('virtual_aliases_id_seq', 100);
