-- groveld's tutorial schema (seed 004) translated to PostgreSQL: no ENGINE,
-- int(10) unsigned -> bigint, ENCRYPT() (MySQL-only) replaced by a fixed
-- crypt(3) string. Same data as ../mysql/groveld.sql, with the same typo
-- fixes (quoted 'mydomain.com', INSERT, destination).
CREATE TABLE domains (
domain varchar(63) NOT NULL,
PRIMARY KEY (domain)
);
CREATE TABLE forwardings (
email varchar(255) NOT NULL,
destination text NOT NULL,
PRIMARY KEY (email)
);
CREATE TABLE transport (
domain varchar(255) NOT NULL,
transport varchar(255) NOT NULL,
PRIMARY KEY (domain)
);
CREATE TABLE users (
email varchar(255) NOT NULL,
password varchar(255) NOT NULL,
quota bigint NOT NULL default '102400',
PRIMARY KEY (email)
);
INSERT INTO domains (domain) VALUES ('mydomain.com');
INSERT INTO users (email, password) VALUES ('address@mydomain.com', 'myKxE7OX3LkW.');
INSERT INTO forwardings (email, destination) VALUES ('myforward@mydomain.com', 'address@mydomain.com, otheraddress@mydomain.com');
INSERT INTO transport (domain, transport) VALUES ('transport.com', 'smtp:mail.transport.com');
INSERT INTO domains (domain) VALUES ('otherdomain.org');
INSERT INTO users (email, password, quota) VALUES ('big@otherdomain.org', 'x', 2048000);
INSERT INTO transport (domain, transport) VALUES ('relay.example', 'relay:[10.0.0.1]:587');
