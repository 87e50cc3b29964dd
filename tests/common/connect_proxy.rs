//! A CONNECT proxy on loopback that records each tunnel it opens. It opens tunnels only to
//! 127.0.0.1 and ::1, so that no test can send anything off this machine.

use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

/// A running proxy and the `CONNECT` targets it received, as `host:port`.
pub struct ConnectProxy {
    port: u16,
    targets: Arc<Mutex<Vec<String>>>,
    authorizations: Arc<Mutex<Vec<String>>>,
}

impl ConnectProxy {
    pub fn start() -> ConnectProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let targets = Arc::new(Mutex::new(Vec::new()));
        let authorizations = Arc::new(Mutex::new(Vec::new()));
        let (recorded, credentials) = (targets.clone(), authorizations.clone());
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (recorded, credentials) = (recorded.clone(), credentials.clone());
                thread::spawn(move || {
                    let _ = tunnel(stream, &recorded, &credentials);
                });
            }
        });
        ConnectProxy {
            port,
            targets,
            authorizations,
        }
    }

    /// Returns `http://127.0.0.1:PORT`, the value for `HTTPS_PROXY`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Returns the `CONNECT` targets received so far.
    pub fn targets(&self) -> Vec<String> {
        self.targets.lock().unwrap().clone()
    }

    /// Returns the `Proxy-Authorization` headers received so far.
    pub fn authorizations(&self) -> Vec<String> {
        self.authorizations.lock().unwrap().clone()
    }

    pub fn connects(&self) -> usize {
        self.targets.lock().unwrap().len()
    }
}

fn tunnel(
    client: TcpStream,
    targets: &Mutex<Vec<String>>,
    authorizations: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header)?;
        if header.trim_end().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.trim().eq_ignore_ascii_case("proxy-authorization")
        {
            authorizations
                .lock()
                .unwrap()
                .push(value.trim().to_string());
        }
    }
    let mut parts = request_line.split_whitespace();
    let (Some("CONNECT"), Some(target)) = (parts.next(), parts.next()) else {
        let mut client = client;
        client.write_all(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")?;
        return Ok(());
    };
    targets.lock().unwrap().push(target.to_string());

    let address: Option<SocketAddr> = target.parse().ok();
    let Some(address) = address.filter(|a| is_loopback(a.ip())) else {
        let mut client = client;
        client.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")?;
        return Ok(());
    };
    let upstream = TcpStream::connect(address)?;
    let mut client_writer = client.try_clone()?;
    client_writer.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;

    // Bytes the client sent after the CONNECT head are in the reader's buffer already.
    let mut upstream_writer = upstream.try_clone()?;
    let buffered = reader.buffer().to_vec();
    upstream_writer.write_all(&buffered)?;
    let upload = thread::spawn(move || {
        let mut reader = reader.into_inner();
        let _ = std::io::copy(&mut reader, &mut upstream_writer);
        let _ = upstream_writer.shutdown(Shutdown::Write);
    });
    let mut upstream_reader = upstream;
    let _ = std::io::copy(&mut upstream_reader, &mut client_writer);
    let _ = client_writer.shutdown(Shutdown::Both);
    let _ = upload.join();
    Ok(())
}

fn is_loopback(ip: IpAddr) -> bool {
    ip.is_loopback()
}
