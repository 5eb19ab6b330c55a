//! static_proxy: forwards every TCP connection from LISTEN to UPSTREAM.
//!
//! Usage: static_proxy LISTEN UPSTREAM (e.g. 127.0.0.1:8080 127.0.0.1:80), or --version.

use std::io;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::thread;

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let _ = io::copy(&mut from, &mut to);
    let _ = to.shutdown(Shutdown::Write);
}

fn serve(listen: &str, upstream: &str) -> io::Result<()> {
    let listener = TcpListener::bind(listen)?;
    for client in listener.incoming() {
        let client = client?;
        let upstream = upstream.to_string();
        thread::spawn(move || {
            if let Ok(server) = TcpStream::connect(&upstream) {
                if let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) {
                    let forward = thread::spawn(move || pipe(c2, s2));
                    pipe(server, client);
                    let _ = forward.join();
                }
            }
        });
    }
    Ok(())
}

fn parse(args: &[String]) -> Result<(&str, &str), String> {
    match args {
        [listen, upstream] if listen.contains(':') && upstream.contains(':') => Ok((listen, upstream)),
        _ => Err("usage: static_proxy LISTEN UPSTREAM | --version".to_string()),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--version") {
        println!("static_proxy {}", env!("CARGO_PKG_VERSION"));
        return;
    }
    match parse(&args) {
        Ok((listen, upstream)) => {
            if let Err(e) = serve(listen, upstream) {
                eprintln!("static_proxy: {e}");
                std::process::exit(1);
            }
        }
        Err(usage) => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_two_addresses() {
        let args = vec!["127.0.0.1:1".to_string(), "127.0.0.1:2".to_string()];
        assert_eq!(parse(&args).unwrap(), ("127.0.0.1:1", "127.0.0.1:2"));
        assert!(parse(&args[..1]).is_err());
    }

    #[test]
    fn forwards_bytes() {
        use std::io::{Read, Write};
        let upstream = TcpListener::bind("127.0.0.1:0").unwrap();
        let upstream_addr = upstream.local_addr().unwrap().to_string();
        let proxy = TcpListener::bind("127.0.0.1:0").unwrap();
        let proxy_addr = proxy.local_addr().unwrap().to_string();
        drop(proxy);
        let listen = proxy_addr.clone();
        thread::spawn(move || serve(&listen, &upstream_addr));
        thread::spawn(move || {
            let (mut s, _) = upstream.accept().unwrap();
            let mut buf = [0; 5];
            s.read_exact(&mut buf).unwrap();
            s.write_all(&buf).unwrap();
        });
        let mut client = loop {
            if let Ok(c) = TcpStream::connect(&proxy_addr) {
                break c;
            }
            thread::sleep(std::time::Duration::from_millis(10));
        };
        client.write_all(b"hello").unwrap();
        let mut back = [0; 5];
        client.read_exact(&mut back).unwrap();
        assert_eq!(&back, b"hello");
    }
}
