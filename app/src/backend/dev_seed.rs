//! `keyward dev seed`: fills a database with realistic data for demos and benchmarks:
//! service accounts and people, and tokens of every kind and status, with creation times over
//! two years and last uses over the last one. The tokens are not usable (their secrets are
//! never generated; the stored hashes are random).

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, RngCore, SeedableRng};

use super::db::schema::{service_accounts, tokens, users};
use super::db::{Conn, Db};
use crate::domain::limits::DAY_SECS;
use crate::domain::names::token_search_text;
use crate::domain::token_format::{display_prefix, TokenKind, BASE62, PUBLIC_ID_LEN};
use crate::errors::AppError;

const WORDS: [&str; 24] = [
    "payments",
    "billing",
    "search",
    "ingest",
    "reports",
    "mailer",
    "backup",
    "metrics",
    "deploy",
    "gateway",
    "ledger",
    "catalog",
    "checkout",
    "identity",
    "storage",
    "scheduler",
    "analytics",
    "notify",
    "pricing",
    "shipping",
    "inventory",
    "auth",
    "exports",
    "webhooks",
];
const TOKEN_WORDS: [&str; 12] = [
    "deploy",
    "ci",
    "backup",
    "metrics",
    "sync",
    "cron",
    "terraform",
    "monitoring",
    "release",
    "nightly",
    "import",
    "readonly",
];
const DESCRIPTIONS: [&str; 6] = [
    "Used by the GitHub Actions pipeline",
    "Nightly export to the data warehouse",
    "Grafana datasource",
    "Terraform state refresh",
    "Temporary token for the migration",
    "On-call debugging",
];

#[derive(Debug, Clone)]
pub struct SeedOptions {
    pub tokens: usize,
    pub owners: usize,
    pub seed: u64,
}

#[derive(Debug, Default)]
pub struct SeedReport {
    pub service_accounts: usize,
    pub users: usize,
    pub tokens: usize,
}

#[derive(Insertable)]
#[diesel(table_name = tokens)]
#[diesel(treat_none_as_default_value = false)]
struct SeedToken {
    public_id: String,
    kind: &'static str,
    service_account_id: Option<i64>,
    user_id: Option<i64>,
    name: String,
    description: String,
    display_prefix: String,
    secret_hash: Vec<u8>,
    created_at: i64,
    created_by_label: String,
    expires_at: Option<i64>,
    last_used_at: Option<i64>,
    last_used_ip: Option<String>,
    last_used_user_agent: Option<String>,
    revoked_at: Option<i64>,
    revoked_by_label: Option<String>,
    revoke_reason: Option<&'static str>,
    allowed_cidrs: String,
    owner_name: String,
    owner_role: String,
    owner_disabled: bool,
    search_text: String,
}

struct Owner {
    kind: TokenKind,
    id: i64,
    name: String,
    role: &'static str,
    disabled: bool,
}

fn pick_role(rng: &mut StdRng) -> &'static str {
    match rng.gen_range(0..100) {
        0..=39 => "viewer",
        40..=74 => "deployment",
        75..=94 => "power_user",
        _ => "admin",
    }
}

fn public_id(rng: &mut StdRng) -> String {
    (0..PUBLIC_ID_LEN)
        .map(|_| BASE62[rng.gen_range(0..62)] as char)
        .collect()
}

/// One multi-row INSERT per batch. diesel-async has none for SQLite, and one statement per
/// row would make the full-text index flush (and merge) on every row, so on SQLite the batch
/// travels as one JSON array and `json_each` unpacks it.
async fn insert_tokens(conn: &mut Conn<'_>, rows: &[SeedToken]) -> QueryResult<usize> {
    match conn {
        Conn::Pg(c) => {
            diesel::insert_into(tokens::table)
                .values(rows)
                .execute(*c)
                .await
        }
        Conn::Sqlite(c) => {
            let json: Vec<serde_json::Value> = rows
                .iter()
                .map(|r| {
                    serde_json::json!([
                        r.public_id,
                        r.kind,
                        r.service_account_id,
                        r.user_id,
                        r.name,
                        r.description,
                        r.display_prefix,
                        crate::backend::crypto::to_hex(&r.secret_hash),
                        r.created_at,
                        r.created_by_label,
                        r.expires_at,
                        r.last_used_at,
                        r.last_used_ip,
                        r.last_used_user_agent,
                        r.revoked_at,
                        r.revoked_by_label,
                        r.revoke_reason,
                        r.allowed_cidrs,
                        r.owner_name,
                        r.owner_role,
                        r.owner_disabled,
                        r.search_text
                    ])
                })
                .collect();
            let columns = "public_id, kind, service_account_id, user_id, name, description, display_prefix, \
                 secret_hash, created_at, created_by_label, expires_at, last_used_at, last_used_ip, \
                 last_used_user_agent, revoked_at, revoked_by_label, revoke_reason, allowed_cidrs, \
                 owner_name, owner_role, owner_disabled, search_text";
            let values = (0..22)
                .map(|i| {
                    if i == 7 {
                        format!("unhex(value ->> {i})")
                    } else {
                        format!("value ->> {i}")
                    }
                })
                .collect::<Vec<_>>()
                .join(", ");
            diesel::sql_query(format!(
                "INSERT INTO tokens ({columns}) SELECT {values} FROM json_each(?)"
            ))
            .bind::<diesel::sql_types::Text, _>(serde_json::Value::Array(json).to_string())
            .execute(*c)
            .await
        }
    }
}

/// Seeds `opts.owners` owners (nine in ten service accounts) holding `opts.tokens` tokens.
pub async fn seed(
    db: &Db,
    opts: &SeedOptions,
    mut progress: impl FnMut(&str),
) -> Result<SeedReport, AppError> {
    let mut rng = StdRng::seed_from_u64(opts.seed);
    let now = crate::domain::timefmt::now();
    let owners_total = opts.owners.max(1);
    let n_users = (owners_total / 10).max(if owners_total > 1 { 1 } else { 0 });
    let n_accounts = owners_total - n_users;
    let run = crate::backend::crypto::random_base62(4).to_lowercase();
    let mut owners: Vec<Owner> = Vec::with_capacity(owners_total);

    // Owners, in batches.
    for start in (0..n_accounts).step_by(1000) {
        let end = (start + 1000).min(n_accounts);
        let batch: Vec<_> = (start..end)
            .map(|i| {
                let role = pick_role(&mut rng);
                let disabled = rng.gen_ratio(1, 20);
                let name = format!("svc_{}_{run}_{i:06}", WORDS[i % WORDS.len()]);
                let created = now - rng.gen_range(400..900) * DAY_SECS;
                (name, role, disabled, created)
            })
            .collect();
        let rows: Vec<_> = batch
            .iter()
            .map(|(name, role, disabled, created)| {
                (
                    service_accounts::name.eq(name.clone()),
                    service_accounts::role.eq(*role),
                    service_accounts::disabled_at.eq(disabled.then_some(now - DAY_SECS)),
                    service_accounts::created_at.eq(*created),
                    service_accounts::created_by_label.eq("dev seed"),
                    service_accounts::updated_at.eq(*created),
                )
            })
            .collect();
        let ids: Vec<i64> = db
            .transaction(|conn| {
                Box::pin(async move {
                    let mut ids = Vec::with_capacity(rows.len());
                    for row in &rows {
                        ids.push(match conn {
                            Conn::Sqlite(c) => {
                                diesel::insert_into(service_accounts::table)
                                    .values(row.clone())
                                    .returning(service_accounts::id)
                                    .get_result(*c)
                                    .await?
                            }
                            Conn::Pg(c) => {
                                diesel::insert_into(service_accounts::table)
                                    .values(row.clone())
                                    .returning(service_accounts::id)
                                    .get_result(*c)
                                    .await?
                            }
                        });
                    }
                    Ok::<_, AppError>(ids)
                })
            })
            .await?;
        for (id, (name, role, disabled, _)) in ids.into_iter().zip(batch) {
            owners.push(Owner {
                kind: TokenKind::ServiceAccount,
                id,
                name,
                role,
                disabled,
            });
        }
    }
    progress(&format!("{n_accounts} service accounts"));
    for start in (0..n_users).step_by(1000) {
        let end = (start + 1000).min(n_users);
        let batch: Vec<_> = (start..end)
            .map(|i| {
                let role = if rng.gen_ratio(1, 10) {
                    "power_user"
                } else if rng.gen_bool(0.5) {
                    "deployment"
                } else {
                    "viewer"
                };
                (
                    format!("user{i:06}.{run}@example.com"),
                    role,
                    rng.gen_ratio(1, 20),
                )
            })
            .collect();
        let rows: Vec<_> = batch
            .iter()
            .map(|(email, role, deactivated)| {
                (
                    users::email.eq(email.clone()),
                    users::role.eq(*role),
                    users::deactivated_at.eq(deactivated.then_some(now - DAY_SECS)),
                    users::created_at.eq(now - 500 * DAY_SECS),
                    users::updated_at.eq(now - 500 * DAY_SECS),
                )
            })
            .collect();
        let ids: Vec<i64> = db
            .transaction(|conn| {
                Box::pin(async move {
                    let mut ids = Vec::with_capacity(rows.len());
                    for row in &rows {
                        ids.push(match conn {
                            Conn::Sqlite(c) => {
                                diesel::insert_into(users::table)
                                    .values(row.clone())
                                    .returning(users::id)
                                    .get_result(*c)
                                    .await?
                            }
                            Conn::Pg(c) => {
                                diesel::insert_into(users::table)
                                    .values(row.clone())
                                    .returning(users::id)
                                    .get_result(*c)
                                    .await?
                            }
                        });
                    }
                    Ok::<_, AppError>(ids)
                })
            })
            .await?;
        for (id, (email, role, deactivated)) in ids.into_iter().zip(batch) {
            owners.push(Owner {
                kind: TokenKind::Personal,
                id,
                name: email,
                role,
                disabled: deactivated,
            });
        }
    }
    progress(&format!("{n_users} users"));

    // Tokens: the same number for every owner (so no one is over the cap of 20 live ones when
    // seeding 20 per owner), in a shuffled owner order so ids do not follow owners.
    let per_owner = opts.tokens / owners.len().max(1);
    let extra = opts.tokens % owners.len().max(1);
    let mut plan: Vec<(usize, usize)> = Vec::with_capacity(opts.tokens);
    for (o, _) in owners.iter().enumerate() {
        let n = per_owner + usize::from(o < extra);
        for j in 0..n {
            plan.push((o, j));
        }
    }
    plan.shuffle(&mut rng);
    let mut written = 0;
    for chunk in plan.chunks(500) {
        let rows: Vec<SeedToken> = chunk
            .iter()
            .map(|&(o, j)| {
                let owner = &owners[o];
                let pid = public_id(&mut rng);
                let prefix = display_prefix(owner.kind, &pid);
                let name = format!("{}_{j:02}", TOKEN_WORDS[(o + j) % TOKEN_WORDS.len()]);
                let description = if rng.gen_bool(0.4) {
                    DESCRIPTIONS[rng.gen_range(0..DESCRIPTIONS.len())].to_string()
                } else {
                    String::new()
                };
                let created = now - rng.gen_range(0..730 * DAY_SECS);
                let expires = (!rng.gen_ratio(3, 20))
                    .then(|| created + [7, 30, 60, 90, 365][rng.gen_range(0..5)] * DAY_SECS);
                let revoked = rng
                    .gen_ratio(3, 25)
                    .then(|| rng.gen_range(created..now.max(created + 1)));
                let end = [Some(now), expires, revoked]
                    .into_iter()
                    .flatten()
                    .min()
                    .unwrap_or(now);
                let used = (!rng.gen_ratio(1, 5) && end > created)
                    .then(|| rng.gen_range(created.max(now - 365 * DAY_SECS).min(end)..=end));
                let mut hash = vec![0u8; 32];
                rng.fill_bytes(&mut hash);
                SeedToken {
                    search_text: token_search_text(&name, &prefix, &owner.name, &description),
                    public_id: pid,
                    kind: owner.kind.as_str(),
                    service_account_id: (owner.kind == TokenKind::ServiceAccount)
                        .then_some(owner.id),
                    user_id: (owner.kind == TokenKind::Personal).then_some(owner.id),
                    name,
                    description,
                    display_prefix: prefix,
                    secret_hash: hash,
                    created_at: created,
                    created_by_label: "dev seed".into(),
                    expires_at: expires,
                    last_used_at: used,
                    last_used_ip: used.map(|_| {
                        format!(
                            "10.{}.{}.{}",
                            rng.gen_range(0..255),
                            rng.gen_range(0..255),
                            rng.gen_range(1..255)
                        )
                    }),
                    last_used_user_agent: used.map(|_| "seed-client/1.0".to_string()),
                    revoked_at: revoked,
                    revoked_by_label: revoked.map(|_| "dev seed".to_string()),
                    revoke_reason: revoked
                        .map(|_| ["manual", "bulk", "leaked"][rng.gen_range(0..3)]),
                    allowed_cidrs: if rng.gen_ratio(1, 10) {
                        "10.0.0.0/8".into()
                    } else {
                        String::new()
                    },
                    owner_name: owner.name.clone(),
                    owner_role: owner.role.to_string(),
                    owner_disabled: owner.disabled,
                }
            })
            .collect();
        db.transaction(|conn| {
            Box::pin(async move { insert_tokens(conn, &rows).await.map_err(AppError::from) })
        })
        .await?;
        written += chunk.len();
        if written % 100_000 < 500 {
            progress(&format!("{written} tokens"));
        }
    }
    progress("analyzing");
    db.optimize(true).await?;
    Ok(SeedReport {
        service_accounts: n_accounts,
        users: n_users,
        tokens: written,
    })
}
