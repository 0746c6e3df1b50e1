-- Who may do what changes rarely; every request asks. The app keeps each user's name, language and
-- scope in memory, tagged with this counter, and re-reads them when the counter has moved (issue 21).
-- Anything that changes a caller's scope or identity moves it, in the same transaction: a
-- membership granted or taken, an organisation added, removed or moved in the tree, a user renamed,
-- re-languaged, disabled or removed. Sessions and API tokens are still checked on every request.
CREATE TABLE auth_epoch (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    n BIGINT NOT NULL
);
INSERT INTO auth_epoch (id, n) VALUES (1, 1);

CREATE TRIGGER auth_epoch_memberships_ins AFTER INSERT ON memberships BEGIN UPDATE auth_epoch SET n = n + 1; END;
CREATE TRIGGER auth_epoch_memberships_upd AFTER UPDATE ON memberships BEGIN UPDATE auth_epoch SET n = n + 1; END;
CREATE TRIGGER auth_epoch_memberships_del AFTER DELETE ON memberships BEGIN UPDATE auth_epoch SET n = n + 1; END;
CREATE TRIGGER auth_epoch_orgs_ins AFTER INSERT ON organisations BEGIN UPDATE auth_epoch SET n = n + 1; END;
CREATE TRIGGER auth_epoch_orgs_upd AFTER UPDATE OF parent_id ON organisations BEGIN UPDATE auth_epoch SET n = n + 1; END;
CREATE TRIGGER auth_epoch_orgs_del AFTER DELETE ON organisations BEGIN UPDATE auth_epoch SET n = n + 1; END;
CREATE TRIGGER auth_epoch_users_upd AFTER UPDATE OF username, display_name, language, disabled ON users BEGIN UPDATE auth_epoch SET n = n + 1; END;
CREATE TRIGGER auth_epoch_users_del AFTER DELETE ON users BEGIN UPDATE auth_epoch SET n = n + 1; END;
