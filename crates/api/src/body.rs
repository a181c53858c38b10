//! Reading a JSON request body: media type, size limit, and the error codes the
//! contract gives each failure.

use crate::error::ApiError;
use actix_web::HttpRequest;
use actix_web::http::header;
use actix_web::web::{self, Bytes, BytesMut};
use futures::StreamExt;
use oee_domain::ErrorCode;

/// Largest accepted order body.
pub const MAX_BODY: usize = 16 * 1024;

/// Checks the request is JSON and reads at most [`MAX_BODY`] bytes of it.
pub async fn read_json(req: &HttpRequest, mut payload: web::Payload) -> Result<Bytes, ApiError> {
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "the body must be JSON (Content-Type: application/json)",
        ));
    }
    let too_large = || ApiError::new(ErrorCode::PayloadTooLarge, format!("the body must be at most {MAX_BODY} bytes"));
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY) {
        return Err(too_large());
    }
    let mut body = BytesMut::with_capacity(declared.unwrap_or(256).min(MAX_BODY));
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::new(ErrorCode::InvalidJson, format!("the body could not be read: {e}")))?;
        if body.len() + chunk.len() > MAX_BODY {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
