-- workaround.org "ISPmail" tutorial schema (seed 002), MySQL/MariaDB dialect,
-- as the tutorial creates it, plus its test data: the domain example.org,
-- the user john@example.org, the alias jack@ -> john@, the catch-all
-- @example.org and the "john-to-himself" row that makes the catch-all safe.
-- Edge rows shared by all backends are in ../edge_data.sql. The tutorial
-- says CHARSET=utf8 (3-byte); we use utf8mb4 so any UTF-8 edge row fits.
CREATE TABLE IF NOT EXISTS `virtual_domains` (
 `id` int(11) NOT NULL auto_increment,
 `name` varchar(50) NOT NULL,
 PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `virtual_users` (
 `id` int(11) NOT NULL auto_increment,
 `domain_id` int(11) NOT NULL,
 `email` varchar(100) NOT NULL,
 `password` varchar(150) NOT NULL,
 `quota` bigint(11) NOT NULL DEFAULT 0,
 PRIMARY KEY (`id`),
 UNIQUE KEY `email` (`email`),
 FOREIGN KEY (domain_id) REFERENCES virtual_domains(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `virtual_aliases` (
 `id` int(11) NOT NULL auto_increment,
 `domain_id` int(11) NOT NULL,
 `source` varchar(100) NOT NULL,
 `destination` varchar(100) NOT NULL,
 PRIMARY KEY (`id`),
 FOREIGN KEY (domain_id) REFERENCES virtual_domains(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Edge-case table (not in the tutorial): keys and values with quotes,
-- backslashes, wildcards, UTF-8, NULL, empty strings, 2 KB strings; v2 is a
-- second column for "every column of every row" tables.
CREATE TABLE IF NOT EXISTS `edge` (
 `id` int(11) NOT NULL auto_increment,
 `k` varchar(3000) NOT NULL,
 `v` varchar(3000) NULL,
 `v2` varchar(255) NULL,
 PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Stored procedure: `query = CALL edge_lookup('%s')` (mysql multi-results).
CREATE PROCEDURE edge_lookup(IN key_in varchar(3000))
  SELECT v FROM edge WHERE k = key_in ORDER BY id;

-- The tutorial's own rows (REPLACE INTO, as written there).
REPLACE INTO virtual_domains (id,name) VALUES ('1','example.org');
REPLACE INTO virtual_users (id,domain_id,password,email)
  VALUES ('1', '1', '{BLF-CRYPT}$2y$05$.WedBCNZiwxY1CG3aleIleu6lYjup2CIg0BP4M4YCZsO204Czz07W', 'john@example.org');
REPLACE INTO virtual_aliases (id,domain_id,source,destination)
  VALUES ('1', '1', 'jack@example.org', 'john@example.org');
-- Catch-all plus the "john-to-himself" row (tutorial's catch-all section).
REPLACE INTO virtual_aliases (id,domain_id,source,destination)
  VALUES ('2', '1', '@example.org', 'john@example.org');
REPLACE INTO virtual_aliases (id,domain_id,source,destination)
  VALUES ('3', '1', 'john@example.org', 'john@example.org');
