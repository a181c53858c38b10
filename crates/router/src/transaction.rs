//! Transaction *building*: the instructions and legs of an attempt, from a
//! chosen route. Pure; the id is derived from the order and the attempt.

use crate::chain::{SwapLeg, Transaction};
use crate::router::RoutePlan;
use oee_domain::{Instruction, OrderSpec, format_units};
use sha2::{Digest, Sha512};
use uuid::Uuid;

/// Compute units a transaction asks for: a base, and more per swap.
const COMPUTE_UNITS_BASE: u32 = 60_000;
const COMPUTE_UNITS_PER_SWAP: u32 = 140_000;
/// The priority fee, in micro-lamports per compute unit.
const PRIORITY_FEE_MICRO_LAMPORTS: u64 = 10_000;

/// The transaction for `plan` as attempt `tx_id`, landing no later than
/// `valid_until`: compute budget, token accounts, wrap, the swaps, unwrap.
pub fn build(spec: &OrderSpec, plan: &RoutePlan, tx_id: &str, valid_until: i64) -> Transaction {
    let units = COMPUTE_UNITS_BASE + COMPUTE_UNITS_PER_SWAP * u32::try_from(plan.legs.len()).unwrap_or(1);
    let inp = |atoms: u64| format_units(u128::from(atoms), spec.token_in.decimals);
    let mut instructions = vec![
        Instruction::SetComputeUnitLimit { units },
        Instruction::SetComputeUnitPrice { micro_lamports: PRIORITY_FEE_MICRO_LAMPORTS },
    ];
    if spec.token_in.native {
        instructions.push(Instruction::CreateTokenAccount { token: "WSOL".into(), mint: spec.token_in.mint.clone() });
        instructions.push(Instruction::WrapSol { amount: inp(plan.amount_in) });
    }
    let out_account = if spec.token_out.native { "WSOL".to_owned() } else { spec.token_out.symbol.clone() };
    instructions.push(Instruction::CreateTokenAccount { token: out_account, mint: spec.token_out.mint.clone() });
    for leg in &plan.legs {
        instructions.push(Instruction::Swap { dex: leg.dex, pool: leg.pool_id.clone(), amount_in: inp(leg.amount_in) });
    }
    if spec.token_out.native {
        instructions.push(Instruction::UnwrapSol);
    }
    Transaction {
        id: tx_id.to_owned(),
        legs: plan
            .legs
            .iter()
            .map(|l| SwapLeg {
                pool_id: l.pool_id.clone(),
                mint_in: spec.token_in.mint.clone(),
                amount_in: l.amount_in,
            })
            .collect(),
        min_amount_out: plan.min_amount_out,
        valid_until,
        instructions,
    }
}

/// The transaction id of an order's attempt: deterministic, so the same attempt
/// sent twice is the same transaction, and shaped like a Solana signature
/// (64 bytes, base58).
pub fn transaction_id(order_id: Uuid, attempt: u32) -> String {
    let mut hasher = Sha512::new();
    hasher.update(b"oee/tx/v1");
    hasher.update(order_id.as_bytes());
    hasher.update(attempt.to_be_bytes());
    bs58::encode(hasher.finalize()).into_string()
}
