-- Edge-case rows shared by MariaDB, PostgreSQL and SQLite (standard SQL
-- literals: '' doubles a quote, backslash is literal; the MariaDB loader
-- sets NO_BACKSLASH_ESCAPES so the same text loads everywhere).
-- Generated once by hand-run Python; rows are ordered: ORDER BY id gives
-- the order multi-row answers must have. Non-ASCII values are last so
-- that a corpus run reaches them last (see keys/corpus.txt).
INSERT INTO virtual_domains (id,name) VALUES (2,'example.com');
INSERT INTO virtual_domains (id,name) VALUES (3,'bücher.example');
INSERT INTO virtual_domains (id,name) VALUES (4,'MixedCase.Example');
INSERT INTO virtual_users (id,domain_id,password,email) VALUES (2,3,'x','jörg@bücher.example');
INSERT INTO virtual_users (id,domain_id,password,email) VALUES (3,2,'x','Upper.Case@Example.COM');
INSERT INTO virtual_aliases (id,domain_id,source,destination) VALUES (10,1,'team@example.org','alice@example.org');
INSERT INTO virtual_aliases (id,domain_id,source,destination) VALUES (11,1,'team@example.org','bob@example.org');
INSERT INTO virtual_aliases (id,domain_id,source,destination) VALUES (12,1,'team@example.org','carol@example.org');
INSERT INTO virtual_aliases (id,domain_id,source,destination) VALUES (13,2,'@example.com','catchall@example.org');
INSERT INTO edge (id,k,v,v2) VALUES (1,'o''ne@example.com','quote-single@example.net',NULL);
INSERT INTO edge (id,k,v,v2) VALUES (2,'dq"x@example.com','quote-double@example.net',NULL);
INSERT INTO edge (id,k,v,v2) VALUES (3,'back\slash@example.com','backslash@example.net',NULL);
INSERT INTO edge (id,k,v,v2) VALUES (4,'o''ne\il"x@example.com','all-quotes@example.net',NULL);
INSERT INTO edge (id,k,v,v2) VALUES (5,'100%@example.com','percent@example.net',NULL);
INSERT INTO edge (id,k,v,v2) VALUES (6,'under_score@example.com','underscore@example.net',NULL);
INSERT INTO edge (id,k,v,v2) VALUES (7,'MixedCase@Example.COM','mixedcase@example.net',NULL);
INSERT INTO edge (id,k,v,v2) VALUES (8,'lower@example.com','lower-hit@example.net','second-column@example.net');
INSERT INTO edge (id,k,v,v2) VALUES (9,'nullval@example.com',NULL,NULL);
INSERT INTO edge (id,k,v,v2) VALUES (10,'emptyval@example.com','',NULL);
INSERT INTO edge (id,k,v,v2) VALUES (11,'mixednull@example.com',NULL,'v2-only@example.net');
INSERT INTO edge (id,k,v,v2) VALUES (12,'mixednull@example.com','','');
INSERT INTO edge (id,k,v,v2) VALUES (13,'mixednull@example.com','third-row@example.net',NULL);
INSERT INTO edge (id,k,v,v2) VALUES (14,'comma@example.com','a@example.net,b@example.net',NULL);
INSERT INTO edge (id,k,v,v2) VALUES (15,'multi@example.com','m1@example.net','c1@example.net');
INSERT INTO edge (id,k,v,v2) VALUES (16,'multi@example.com','m2@example.net',NULL);
INSERT INTO edge (id,k,v,v2) VALUES (17,'multi@example.com','m3@example.net','c3@example.net');
INSERT INTO edge (id,k,v,v2) VALUES (18,'many@example.com','n1@example.net',NULL);
INSERT INTO edge (id,k,v,v2) VALUES (19,'many@example.com','n2@example.net',NULL);
INSERT INTO edge (id,k,v,v2) VALUES (20,'many@example.com','n3@example.net',NULL);
INSERT INTO edge (id,k,v,v2) VALUES (21,'many@example.com','n4@example.net',NULL);
INSERT INTO edge (id,k,v,v2) VALUES (22,'many@example.com','n5@example.net',NULL);
INSERT INTO edge (id,k,v,v2) VALUES (23,'llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll@example.com','long-key-hit@example.net',NULL);
INSERT INTO edge (id,k,v,v2) VALUES (24,'longval@example.com','vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv@example.net',NULL);
INSERT INTO edge (id,k,v,v2) VALUES (25,'example.com','domain-hit',NULL);
INSERT INTO edge (id,k,v,v2) VALUES (26,'@example.com','catchall-com@example.net',NULL);
INSERT INTO edge (id,k,v,v2) VALUES (27,'user@','trailing-at@example.net',NULL);
INSERT INTO edge (id,k,v,v2) VALUES (28,'plain','unqualified@example.net',NULL);
INSERT INTO edge (id,k,v,v2) VALUES (29,'noat@example.com','no-at-sign-value',NULL);
INSERT INTO edge (id,k,v,v2) VALUES (30,'atvalue@example.com','@example.net',NULL);
INSERT INTO edge (id,k,v,v2) VALUES (31,'smtp@example.com','mail.example.net',NULL);
INSERT INTO edge (id,k,v,v2) VALUES (32,'sp ace@example.com','space-key@example.net',NULL);
INSERT INTO edge (id,k,v,v2) VALUES (33,'jörg@bücher.example','jörg@bücher.example',NULL);
INSERT INTO edge (id,k,v,v2) VALUES (34,'straße@example.de','strasse@example.de',NULL);
INSERT INTO edge (id,k,v,v2) VALUES (35,'αλφα@παράδειγμα.ελ','alpha@example.gr',NULL);
INSERT INTO edge (id,k,v,v2) VALUES (37,'latin1val@example.com','jörg@bücher.example',NULL);
INSERT INTO edge (id,k,v,v2) VALUES (36,'greek@example.org','αλφα@παράδειγμα.ελ',NULL);
