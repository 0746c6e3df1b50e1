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

CREATE FUNCTION auth_epoch_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE auth_epoch SET n = n + 1;
    RETURN NULL;
END;
$$;

CREATE TRIGGER auth_epoch_memberships AFTER INSERT OR UPDATE OR DELETE ON memberships
    FOR EACH STATEMENT EXECUTE FUNCTION auth_epoch_bump();
CREATE TRIGGER auth_epoch_orgs AFTER INSERT OR DELETE OR UPDATE OF parent_id ON organisations
    FOR EACH STATEMENT EXECUTE FUNCTION auth_epoch_bump();
CREATE TRIGGER auth_epoch_users AFTER DELETE OR UPDATE OF username, display_name, language, disabled ON users
    FOR EACH STATEMENT EXECUTE FUNCTION auth_epoch_bump();
