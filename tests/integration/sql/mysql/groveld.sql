-- groveld's "Postfix with MySQL backend and TLS" tutorial (seed 004): schema
-- verbatim (MyISAM as written) and its test data. Fixes, only where the SQL
-- could not run as written:
--   * VALUES (mydomain.com) -> VALUES ('mydomain.com')  (unquoted string)
--   * INESRT -> INSERT, desination -> destination       (typos)
--   * the database's charset is set to utf8mb3 first: with the server's
--     utf8mb4 default the MyISAM primary key on varchar(255) needs 1020
--     bytes, over MyISAM's 1000-byte limit (the tutorial's MySQL 5 era
--     default, latin1, fitted).
-- ENCRYPT('mypassword') is kept: MariaDB 10.11 still has it.
ALTER DATABASE groveld CHARACTER SET utf8mb3 COLLATE utf8mb3_general_ci;
-- Extra rows after the tutorial's are ours (multi-destination forwarding,
-- a second user, a quota) so the seed's six maps have hits and misses.
CREATE TABLE domains (
domain varchar(63) NOT NULL,
PRIMARY KEY (domain)
) ENGINE=MyISAM;

CREATE TABLE forwardings (
email varchar(255) NOT NULL,
destination text NOT NULL,
PRIMARY KEY (email)
) ENGINE=MyISAM;

CREATE TABLE transport (
domain varchar(255) NOT NULL,
transport varchar(255) NOT NULL,
PRIMARY KEY (domain)
) ENGINE=MyISAM;

CREATE TABLE users (
email varchar(255) NOT NULL,
password varchar(255) NOT NULL,
quota int(10) unsigned NOT NULL default '102400',
PRIMARY KEY (email)
) ENGINE=MyISAM;

INSERT INTO domains (domain) VALUES ('mydomain.com');
INSERT INTO users (email, password) VALUES ('address@mydomain.com', ENCRYPT('mypassword'));
INSERT INTO forwardings (email, destination) VALUES ('myforward@mydomain.com', 'address@mydomain.com, otheraddress@mydomain.com');
INSERT INTO transport (domain, transport) VALUES ('transport.com', 'smtp:mail.transport.com');

-- ours
INSERT INTO domains (domain) VALUES ('otherdomain.org');
INSERT INTO users (email, password, quota) VALUES ('big@otherdomain.org', 'x', 2048000);
INSERT INTO transport (domain, transport) VALUES ('relay.example', 'relay:[10.0.0.1]:587');
