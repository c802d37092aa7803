//! Every RPC × every kind of bad request the caller can send: malformed protobuf,
//! invalid UTF-8 in each string field, NUL in each string field. None is INTERNAL
//! (the contract keeps INTERNAL for the server's own faults), and the text ones name
//! their field. The RPCs and their fields are read from the compiled descriptor set,
//! so a new RPC or field is covered without touching this test.
use std::time::Duration;

use prost::Message as _;
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, FileDescriptorSet};
use tonic::Code;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::Bytes;

use crate::backend_tests;
use crate::common::*;

backend_tests!(no_bad_request_is_internal, nul_in_hotel_ids_names_the_field);

/// The attack run's case, on both backends alike: INVALID_ARGUMENT naming the field.
async fn nul_in_hotel_ids_names_the_field(db: TestDb) {
    use sentlog::proto;
    let server = TestServer::start(db).await;
    let bad = vec!["h1\0".to_string()];
    let listed = server
        .messages()
        .list_messages(proto::ListMessagesRequest {
            filter: Some(proto::MessageFilter {
                hotel_ids: bad.clone(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    let flags = server
        .reconciliation()
        .list_flags(proto::ListFlagsRequest {
            hotel_ids: bad.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    let run = server
        .reconciliation()
        .run_reconciliation(proto::RunReconciliationRequest { hotel_ids: bad })
        .await
        .unwrap_err();
    for status in [listed, flags, run] {
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(status.message().contains("hotel_ids"), "{status:?}");
        assert!(status.message().contains("NUL"), "{status:?}");
    }
    server.stop().await;
}

/// Sends and receives raw protobuf bytes, so a test can send what no client would.
#[derive(Clone, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;
    fn encoder(&mut self) -> RawCodec {
        RawCodec
    }
    fn decoder(&mut self) -> RawCodec {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = tonic::Status;
    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        use prost::bytes::BufMut;
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = tonic::Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, tonic::Status> {
        use prost::bytes::Buf;
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

/// One RPC of the descriptor set.
struct Rpc {
    path: String,
    streams: bool,
    input: String,
}

/// A string field to spoil, as the path of field numbers that reaches it.
struct StringField {
    name: String,
    path: Vec<u32>,
}

fn varint(mut n: u64, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// A message with only `path` set to `value` (nested messages wrap it).
fn encode_at(path: &[u32], value: &[u8]) -> Vec<u8> {
    let mut inner = value.to_vec();
    for number in path.iter().rev() {
        let mut wrapped = Vec::new();
        varint(u64::from(number << 3 | 2), &mut wrapped);
        varint(inner.len() as u64, &mut wrapped);
        wrapped.extend(inner);
        inner = wrapped;
    }
    inner
}

fn message<'a>(set: &'a FileDescriptorSet, full_name: &str) -> Option<&'a DescriptorProto> {
    let name = full_name.trim_start_matches('.');
    set.file.iter().find_map(|f| {
        let package = f.package();
        f.message_type
            .iter()
            .find(|m| format!("{package}.{}", m.name()) == name)
    })
}

/// Every string field of `type_name`, and of the messages it holds (two levels down).
fn string_fields(
    set: &FileDescriptorSet,
    type_name: &str,
    prefix: &str,
    path: Vec<u32>,
    depth: usize,
    out: &mut Vec<StringField>,
) {
    let Some(m) = message(set, type_name) else {
        return; // google.protobuf.Timestamp and the like
    };
    for f in &m.field {
        let mut here = path.clone();
        here.push(f.number() as u32);
        let name = match f.label() {
            Label::Repeated => format!("{prefix}{}[0]", f.name()),
            _ => format!("{prefix}{}", f.name()),
        };
        match f.r#type() {
            Type::String => out.push(StringField { name, path: here }),
            Type::Message if depth < 2 => string_fields(
                set,
                f.type_name(),
                &format!("{name}."),
                here,
                depth + 1,
                out,
            ),
            _ => {}
        }
    }
}

fn rpcs(set: &FileDescriptorSet) -> Vec<Rpc> {
    let mut out = Vec::new();
    for f in &set.file {
        for s in &f.service {
            for m in &s.method {
                out.push(Rpc {
                    path: format!("/{}.{}/{}", f.package(), s.name(), m.name()),
                    streams: m.server_streaming(),
                    input: m.input_type().to_string(),
                });
            }
        }
    }
    out
}

/// The call's status: OK when it answered (a stream that opened and said nothing
/// within a moment counts as answered).
async fn call(channel: &tonic::transport::Channel, rpc: &Rpc, body: Vec<u8>) -> tonic::Status {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready().await.expect("channel ready");
    let path = rpc.path.parse().unwrap();
    let request = tonic::Request::new(Bytes::from(body));
    if !rpc.streams {
        return match grpc.unary(request, path, RawCodec).await {
            Ok(_) => tonic::Status::ok(""),
            Err(s) => s,
        };
    }
    match grpc.server_streaming(request, path, RawCodec).await {
        Err(s) => s,
        Ok(response) => {
            let mut stream = response.into_inner();
            match tokio::time::timeout(Duration::from_millis(300), stream.message()).await {
                Ok(Err(s)) => s,
                _ => tonic::Status::ok(""),
            }
        }
    }
}

async fn no_bad_request_is_internal(db: TestDb) {
    let server = TestServer::start(db).await;
    // Something to find, so reads reach the database and not only validation.
    record(
        &mut server.messages(),
        vec![new_message("h1", "e-1", "+33612345678")],
    )
    .await;
    let set = FileDescriptorSet::decode(sentlog::proto::FILE_DESCRIPTOR_SET).unwrap();
    let rpcs = rpcs(&set);
    assert!(rpcs.len() >= 18, "every RPC of the protos: {}", rpcs.len());
    let mut failures = Vec::new();
    let mut checked = 0;
    for rpc in &rpcs {
        // Malformed protobuf: a truncated length, an unknown wire type, a field 0.
        for (what, body) in [
            ("truncated field", vec![0x0a, 0x05, b'a']),
            ("wire type 7", vec![0x0f]),
            ("field number 0", vec![0x02, 0x00]),
            ("lone varint byte", vec![0xff]),
        ] {
            let status = call(&server.channel, rpc, body).await;
            checked += 1;
            if status.code() != Code::InvalidArgument {
                failures.push(format!("{} {what}: {status:?}", rpc.path));
            }
        }
        let mut fields = Vec::new();
        string_fields(&set, &rpc.input, "", Vec::new(), 0, &mut fields);
        for field in &fields {
            for (what, value) in [
                ("invalid UTF-8", &b"h1\xff\xfe"[..]),
                ("NUL", &b"h1\x00x"[..]),
            ] {
                let status = call(&server.channel, rpc, encode_at(&field.path, value)).await;
                checked += 1;
                let bad = match status.code() {
                    Code::Internal | Code::Unknown => true,
                    // Undecodable: always refused as such.
                    _ if what == "invalid UTF-8" => status.code() != Code::InvalidArgument,
                    // A NUL that reached a lookup: SQLite would say not found where
                    // PostgreSQL fails; both must refuse it as input instead.
                    Code::NotFound => true,
                    _ => false,
                };
                if bad {
                    failures.push(format!("{} {} {what}: {status:?}", rpc.path, field.name));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} bad requests were answered wrongly:\n{}",
        failures.len(),
        failures.join("\n")
    );
    server.stop().await;
}
