//! A TCP proxy the tests put between one controller and the kube-apiserver, to cut that controller off
//! (a network partition) while everything else still reaches the API server: after
//! [`TcpProxy::black_hole`] no byte passes in either direction, on open connections and new ones,
//! and nothing is closed, so the controller sees requests hang as in a real partition.

use anyhow::{Context as _, Result};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A running proxy on 127.0.0.1; stopped when dropped.
pub struct TcpProxy {
    pub addr: SocketAddr,
    cut: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl TcpProxy {
    /// Forwards every connection to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let cut = Arc::new(AtomicBool::new(false));
        let flag = cut.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let flag = flag.clone();
                tokio::spawn(async move {
                    if flag.load(Ordering::SeqCst) {
                        // Cut off: hold the connection open and silent.
                        hang(client).await;
                        return;
                    }
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    tokio::join!(pipe(cr, sw, flag.clone()), pipe(sr, cw, flag));
                });
            }
        });
        Ok(Self { addr, cut, task })
    }

    /// From now on nothing passes, in either direction.
    pub fn black_hole(&self) {
        self.cut.store(true, Ordering::SeqCst);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Copies `from` to `to` until either ends or the proxy is cut (then holds both, silent).
async fn pipe(mut from: impl AsyncRead + Unpin, mut to: impl AsyncWrite + Unpin, cut: Arc<AtomicBool>) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if cut.load(Ordering::SeqCst) {
            // Bytes that arrive after the cut are dropped; the connection stays open.
            std::future::pending::<()>().await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

async fn hang(stream: TcpStream) {
    let _keep = stream;
    std::future::pending::<()>().await;
}

/// The host:port of an `https://host:port` URL.
pub fn socket_addr_of(url: &str) -> Result<SocketAddr> {
    let rest = url
        .split_once("://")
        .map_or(url, |(_, r)| r)
        .trim_end_matches('/');
    rest.parse()
        .with_context(|| format!("{url} is not an address like https://127.0.0.1:PORT"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bytes_pass_until_the_proxy_is_cut_and_then_nothing_does() -> Result<()> {
        let upstream = TcpListener::bind("127.0.0.1:0").await?;
        let upstream_addr = upstream.local_addr()?;
        // An echo server.
        tokio::spawn(async move {
            while let Ok((mut s, _)) = upstream.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 64];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        let proxy = TcpProxy::start(upstream_addr).await?;
        let mut conn = TcpStream::connect(proxy.addr).await?;
        conn.write_all(b"ping").await?;
        let mut got = [0u8; 4];
        conn.read_exact(&mut got).await?;
        assert_eq!(&got, b"ping");

        proxy.black_hole();
        conn.write_all(b"lost").await?;
        let silent = tokio::time::timeout(std::time::Duration::from_millis(300), conn.read(&mut got)).await;
        assert!(silent.is_err(), "nothing comes back on an open connection");
        let mut fresh = TcpStream::connect(proxy.addr).await?;
        fresh.write_all(b"ping").await?;
        let silent = tokio::time::timeout(std::time::Duration::from_millis(300), fresh.read(&mut got)).await;
        assert!(silent.is_err(), "nor on a new one");
        Ok(())
    }

    #[test]
    fn addresses_are_read_from_urls() -> Result<()> {
        assert_eq!(
            socket_addr_of("https://127.0.0.1:6443")?,
            "127.0.0.1:6443".parse()?
        );
        assert!(socket_addr_of("https://localhost:6443").is_err());
        Ok(())
    }
}
