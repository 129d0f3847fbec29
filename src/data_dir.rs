//! A node's data directory (`server.data_dir`): the endpoint store in `store/` (a directory of its
//! own, which the store owns entirely), the Raft log in `raft/` and the generated admin token in
//! `admin-token`, all readable by the owner only.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

/// Name of the file holding the generated admin token.
pub const ADMIN_TOKEN_FILE: &str = "admin-token";

/// Where the built-in admin token came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenOrigin {
    /// `SWITCHYARD_ADMIN_TOKEN`.
    Environment,
    /// Generated now, into this file.
    Generated(PathBuf),
    /// Read from this file, generated at an earlier start.
    File(PathBuf),
}

/// A prepared data directory.
#[derive(Clone, Debug)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// Creates `root` if needed (owner-only permissions on Unix).
    pub fn prepare(root: &Path) -> anyhow::Result<Self> {
        if !root.exists() {
            std::fs::create_dir_all(root)
                .with_context(|| format!("cannot create the data directory {} (server.data_dir)", root.display()))?;
            owner_only(root, 0o700)?;
        }
        Ok(Self { root: root.to_owned() })
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The endpoint store's directory.
    pub fn store(&self) -> PathBuf {
        self.root.join("store")
    }

    /// The Raft log's directory (beside the store, which is its state machine).
    pub fn raft(&self) -> PathBuf {
        self.root.join("raft")
    }

    /// The built-in admin token: `from_env` when given, else the one generated into this directory
    /// at an earlier start, else a new random one written there (owner-only).
    pub fn admin_token(&self, from_env: Option<&str>) -> anyhow::Result<(String, TokenOrigin)> {
        if let Some(token) = from_env {
            return Ok((token.to_owned(), TokenOrigin::Environment));
        }
        let path = self.root.join(ADMIN_TOKEN_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) if text.trim().len() >= 16 => return Ok((text.trim().to_owned(), TokenOrigin::File(path))),
            Ok(_) => anyhow::bail!("{} does not hold a token of at least 16 characters: remove it", path.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
        let token = format!("sy_{:032x}", rand::random::<u128>());
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        owner_only(&path, 0o600)?;
        writeln!(file, "{token}")
            .and_then(|()| file.sync_all())
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok((token, TokenOrigin::Generated(path)))
    }
}

#[cfg(unix)]
fn owner_only(path: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot restrict {} to its owner", path.display()))
}

#[cfg(not(unix))]
fn owner_only(_path: &Path, _mode: u32) -> anyhow::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_generated_once_owner_only_and_the_environment_overrides_it() {
        let temp = tempfile::tempdir().unwrap();
        let dir = DataDir::prepare(&temp.path().join("data")).unwrap();
        let (first, origin) = dir.admin_token(None).unwrap();
        assert!(matches!(origin, TokenOrigin::Generated(_)) && first.len() >= 32);
        let (again, origin) = dir.admin_token(None).unwrap();
        assert_eq!((again.as_str(), matches!(origin, TokenOrigin::File(_))), (first.as_str(), true));
        let (env, origin) = dir.admin_token(Some("from-the-environment")).unwrap();
        assert_eq!((env.as_str(), origin), ("from-the-environment", TokenOrigin::Environment));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.root().join(ADMIN_TOKEN_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            assert_eq!(std::fs::metadata(dir.root()).unwrap().permissions().mode() & 0o777, 0o700);
        }
    }
}
