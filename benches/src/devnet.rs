//! A `chain devnet` process for the harnesses that run the real binary (soak, front door), and
//! a small cookie-keeping HTTP client for its pages.

use std::error::Error;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// `count` consecutive free loopback ports.
pub fn free_ports(count: u16, from: u16) -> Result<u16> {
    let mut base = from;
    while base < 60_000 {
        if (base..base + count).all(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok()) {
            return Ok(base);
        }
        base += count + 1;
    }
    Err("no free ports".into())
}

/// The devnet process, killed if the harness fails before stopping it.
pub struct Devnet(pub Child);

impl Drop for Devnet {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A small HTTP client that keeps cookies, for the pages.
pub struct Browser {
    /// The client (no redirects followed, statuses not errors, 10 s per request).
    pub agent: ureq::Agent,
    base: String,
    cookies: Vec<(String, String)>,
}

impl Browser {
    /// A client of the pages under `base` (`http://host:port`), with no cookies yet.
    pub fn new(base: &str) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        Self {
            agent,
            base: base.to_string(),
            cookies: Vec::new(),
        }
    }

    /// Keeps the cookies `response` sets; its status and body.
    pub fn keep(&mut self, response: ureq::http::Response<ureq::Body>) -> Result<(u16, String)> {
        for value in response.headers().get_all("set-cookie") {
            let pair = value.to_str()?.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                self.cookies.retain(|(n, _)| n != name);
                self.cookies.push((name.to_string(), value.to_string()));
            }
        }
        let status = response.status().as_u16();
        Ok((status, response.into_body().read_to_string()?))
    }

    /// The `Cookie` header of the cookies kept.
    pub fn cookie(&self) -> String {
        let pairs: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        pairs.join("; ")
    }

    /// `GET path` with the cookies kept.
    pub fn get(&mut self, path: &str) -> Result<(u16, String)> {
        let response = self
            .agent
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie())
            .call()?;
        self.keep(response)
    }

    /// Posts `form` to `path` with the cookies kept.
    pub fn post_form(&mut self, path: &str, form: &[(&str, &str)]) -> Result<(u16, String)> {
        let response = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie())
            .send_form(form.iter().copied())?;
        self.keep(response)
    }
}

/// The value of the first `name="csrf" value="..."` in a page.
pub fn csrf_of(page: &str) -> Option<String> {
    let rest = page.split_once("name=\"csrf\" value=\"")?.1;
    Some(rest[..rest.find('"')?].to_string())
}

/// Waits until the API at `api` answers and `token` (its token file) exists; fails when the
/// devnet exits first or after 120 s.
pub fn wait_until_serving(api: &str, token: &Path, devnet: &mut Devnet) -> Result<()> {
    let agent = ureq::Agent::new_with_defaults();
    let deadline = Instant::now() + Duration::from_secs(120);
    let answers = || {
        agent
            .get(format!("{api}/status"))
            .call()
            .is_ok_and(|r| r.status() == 200)
    };
    while !answers() || !token.is_file() {
        if let Some(status) = devnet.0.try_wait()? {
            return Err(format!("the devnet exited at start: {status}").into());
        }
        if Instant::now() > deadline {
            return Err("the devnet's API did not answer within 120 s".into());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(())
}

impl Devnet {
    /// Starts `chain devnet --nodes nodes` from the binary `chain`, its data in `dir/devnet`
    /// and its output in `dir/devnet.log`, on free ports: returns it with its first peer and
    /// API ports (node i uses port + i).
    pub fn start(chain: &Path, nodes: u16, dir: &Path) -> Result<(Self, u16, u16)> {
        let p2p = free_ports(nodes, 27_410)?;
        let api_port = free_ports(nodes, 28_080)?;
        let log = std::fs::File::create(dir.join("devnet.log"))?;
        let child = Command::new(chain)
            .arg("devnet")
            .arg("--nodes")
            .arg(nodes.to_string())
            .arg("--data-dir")
            .arg(dir.join("devnet"))
            .arg("--p2p-port")
            .arg(p2p.to_string())
            .arg("--api-port")
            .arg(api_port.to_string())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        Ok((Self(child), p2p, api_port))
    }
}
