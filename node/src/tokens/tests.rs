//! The token store against a temporary data directory.

use super::*;

fn store() -> (TokenStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (TokenStore::open(dir.path()).unwrap(), dir)
}

#[test]
fn create_list_and_revoke() {
    let (store, _dir) = store();
    assert_eq!(store.list().unwrap(), vec![]);
    let before = guild_os::clock::now_ms();
    let till = store.create("till-1", &[Scope::Sale]).unwrap();
    let admin = store
        .create("console", &[Scope::Admin, Scope::Sale, Scope::Admin])
        .unwrap();
    assert_eq!(till.info.name, "till-1");
    assert_eq!(till.info.scopes, vec![Scope::Sale]);
    assert_eq!(admin.info.scopes, vec![Scope::Sale, Scope::Admin]);
    assert!(till.info.created_ms >= before);
    assert_eq!(till.info.prefix, till.secret.prefix());
    assert_eq!(
        store.list().unwrap(),
        vec![till.info.clone(), admin.info.clone()]
    );

    assert_eq!(
        store.authenticate(&till.secret).unwrap(),
        Some(till.info.clone())
    );
    assert_eq!(store.revoke("till-1").unwrap(), till.info);
    assert_eq!(store.list().unwrap(), vec![admin.info.clone()]);
    assert_eq!(store.authenticate(&till.secret).unwrap(), None);
    assert_eq!(store.authenticate(&admin.secret).unwrap(), Some(admin.info));

    let err = store.revoke("till-1").unwrap_err();
    assert!(matches!(err, TokenError::UnknownName { .. }), "{err}");
    // A revoked name can be used again, for a new token.
    let again = store.create("till-1", &[Scope::Sale]).unwrap();
    assert_ne!(again.secret, till.secret);
}

#[test]
fn names_are_unique_and_checked_and_a_scope_is_needed() {
    let (store, _dir) = store();
    store.create("till-1", &[Scope::Sale]).unwrap();
    let err = store.create("till-1", &[Scope::Admin]).unwrap_err();
    assert!(matches!(err, TokenError::DuplicateName { .. }), "{err}");
    assert!(err.to_string().contains("guild node token revoke till-1"));
    for bad in ["", "till 1", "till/1", "tïll", &"x".repeat(65)] {
        let err = store.create(bad, &[Scope::Sale]).unwrap_err();
        assert!(matches!(err, TokenError::BadName { .. }), "{bad}: {err}");
    }
    store.create(&"x".repeat(64), &[Scope::Sale]).unwrap();
    let err = store.create("till-2", &[]).unwrap_err();
    assert!(matches!(err, TokenError::NoScope), "{err}");
    assert_eq!(store.list().unwrap().len(), 2);
}

#[test]
fn tokens_persist_across_reopening_and_the_file_holds_no_token() {
    let (store, dir) = store();
    let till = store.create("till-1", &[Scope::Sale]).unwrap();
    let text = till.secret.reveal();
    drop(store);

    let reopened = TokenStore::open(dir.path()).unwrap();
    assert_eq!(reopened.list().unwrap(), vec![till.info.clone()]);
    assert_eq!(
        reopened.authenticate(&text.parse().unwrap()).unwrap(),
        Some(till.info)
    );

    let stored = std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
    let hex_part = &text["gld_".len()..];
    assert!(!stored.contains(hex_part), "{stored}");
    assert!(!stored.contains(&hex_part[8..]), "{stored}");
    assert!(
        stored.contains(&hex::encode(till.secret.hash())),
        "{stored}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(FILE_NAME))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn a_running_store_sees_changes_made_by_another() {
    let (node, dir) = store();
    let cli = TokenStore::open(dir.path()).unwrap();
    let till = cli.create("till-1", &[Scope::Sale]).unwrap();
    assert!(node.authenticate(&till.secret).unwrap().is_some());
    let second = cli.create("till-2", &[Scope::Sale]).unwrap();
    assert!(node.authenticate(&second.secret).unwrap().is_some());
    cli.revoke("till-1").unwrap();
    assert_eq!(node.authenticate(&till.secret).unwrap(), None);
    assert!(node.authenticate(&second.secret).unwrap().is_some());
    std::fs::remove_file(cli.path()).unwrap();
    assert_eq!(node.authenticate(&second.secret).unwrap(), None);
}

#[test]
fn a_missing_data_directory_and_a_damaged_file_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let err = TokenStore::open(&dir.path().join("nope")).unwrap_err();
    assert!(matches!(err, TokenError::NoDataDir { .. }), "{err}");

    let store = TokenStore::open(dir.path()).unwrap();
    let till = store.create("till-1", &[Scope::Sale]).unwrap();
    for damaged in [
        "{",
        r#"{"version":2,"tokens":[]}"#,
        r#"{"version":1,"tokens":[{"name":"a","scopes":["sale"],"created_ms":1,"prefix":"gld_","sha256":"00"}]}"#,
        r#"{"version":1,"tokens":[{"name":"a","scopes":["root"],"created_ms":1,"prefix":"gld_","sha256":""}]}"#,
    ] {
        std::fs::write(store.path(), damaged).unwrap();
        let err = store.authenticate(&till.secret).unwrap_err();
        assert!(
            matches!(err, TokenError::Corrupt { .. }),
            "{damaged}: {err}"
        );
        let err = store.list().unwrap_err();
        assert!(
            matches!(err, TokenError::Corrupt { .. }),
            "{damaged}: {err}"
        );
        let err = store.create("till-2", &[Scope::Sale]).unwrap_err();
        assert!(
            matches!(err, TokenError::Corrupt { .. }),
            "{damaged}: {err}"
        );
    }
}

#[test]
fn admin_allows_everything_sale_only_sales() {
    let info = |scopes: Vec<Scope>| TokenInfo {
        name: "t".into(),
        scopes,
        created_ms: 0,
        prefix: "gld_".into(),
    };
    assert!(info(vec![Scope::Sale]).allows(Scope::Sale));
    assert!(!info(vec![Scope::Sale]).allows(Scope::Admin));
    assert!(info(vec![Scope::Admin]).allows(Scope::Sale));
    assert!(info(vec![Scope::Admin]).allows(Scope::Admin));
    assert!(!info(vec![]).allows(Scope::Sale));
}
