-- One SQLite database holding all three fixture databases' tables (names do
-- not clash): workaround.org's virtual_* tables (seed 002), the edge table,
-- groveld's domains/forwardings/transport/users (seed 004, same typo fixes
-- as ../mysql/groveld.sql, ENCRYPT() replaced by a fixed string) and the
-- READMEs' mxaliases (seeds 000/001/003). ../edge_data.sql is loaded after.
CREATE TABLE virtual_domains (id integer PRIMARY KEY, name varchar(50) NOT NULL);
CREATE TABLE virtual_users (id integer PRIMARY KEY,
  domain_id int NOT NULL REFERENCES virtual_domains(id) ON DELETE CASCADE,
  email varchar(100) NOT NULL UNIQUE, password varchar(150) NOT NULL,
  quota bigint NOT NULL DEFAULT 0);
CREATE TABLE virtual_aliases (id integer PRIMARY KEY,
  domain_id int NOT NULL REFERENCES virtual_domains(id) ON DELETE CASCADE,
  source varchar(100) NOT NULL, destination varchar(100) NOT NULL);
CREATE TABLE edge (id integer PRIMARY KEY, k varchar(3000) NOT NULL,
  v varchar(3000) NULL, v2 varchar(255) NULL);
REPLACE INTO virtual_domains (id,name) VALUES ('1','example.org');
REPLACE INTO virtual_users (id,domain_id,password,email)
  VALUES ('1', '1', '{BLF-CRYPT}$2y$05$.WedBCNZiwxY1CG3aleIleu6lYjup2CIg0BP4M4YCZsO204Czz07W', 'john@example.org');
REPLACE INTO virtual_aliases (id,domain_id,source,destination) VALUES ('1', '1', 'jack@example.org', 'john@example.org');
REPLACE INTO virtual_aliases (id,domain_id,source,destination) VALUES ('2', '1', '@example.org', 'john@example.org');
REPLACE INTO virtual_aliases (id,domain_id,source,destination) VALUES ('3', '1', 'john@example.org', 'john@example.org');

CREATE TABLE domains (domain varchar(63) NOT NULL PRIMARY KEY);
CREATE TABLE forwardings (email varchar(255) NOT NULL PRIMARY KEY, destination text NOT NULL);
CREATE TABLE transport (domain varchar(255) NOT NULL PRIMARY KEY, transport varchar(255) NOT NULL);
CREATE TABLE users (email varchar(255) NOT NULL PRIMARY KEY, password varchar(255) NOT NULL,
  quota int NOT NULL default '102400');
INSERT INTO domains (domain) VALUES ('mydomain.com');
INSERT INTO users (email, password) VALUES ('address@mydomain.com', 'myKxE7OX3LkW.');
INSERT INTO forwardings (email, destination) VALUES ('myforward@mydomain.com', 'address@mydomain.com, otheraddress@mydomain.com');
INSERT INTO transport (domain, transport) VALUES ('transport.com', 'smtp:mail.transport.com');
INSERT INTO domains (domain) VALUES ('otherdomain.org');
INSERT INTO users (email, password, quota) VALUES ('big@otherdomain.org', 'x', 2048000);
INSERT INTO transport (domain, transport) VALUES ('relay.example', 'relay:[10.0.0.1]:587');

CREATE TABLE mxaliases (alias varchar(128) NOT NULL, forw_addr varchar(255) NOT NULL,
  status varchar(16) NOT NULL);
INSERT INTO mxaliases (alias, forw_addr, status) VALUES ('postmaster', 'root@example.com', 'paid');
INSERT INTO mxaliases (alias, forw_addr, status) VALUES ('abuse', 'abuse-desk@example.com', 'paid');
INSERT INTO mxaliases (alias, forw_addr, status) VALUES ('unpaid', 'deadbeat@example.com', 'unpaid');
INSERT INTO mxaliases (alias, forw_addr, status) VALUES ('root', 'admin1@example.com', 'paid');
INSERT INTO mxaliases (alias, forw_addr, status) VALUES ('root', 'admin2@example.com', 'paid');
