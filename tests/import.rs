use dhakira::proto::import_request::Item;
use dhakira::proto::{
    DuplicatePolicy, ExportRequest, GetUnitRequest, ImportOptions, ImportRequest, ImportSummary, LookupRequest,
    StatsRequest, UnitBatch,
};
use prost::Message;
use tonic::Code;

use crate::common::{corpus_dir, read_pairs, unit, Client, Server};

fn options(format: &str, memory: &str) -> ImportRequest {
    let options = ImportOptions { format: format.into(), memory: memory.into(), ..Default::default() };
    ImportRequest { item: Some(Item::Options(options)) }
}

/// The Import stream: the options, then `data` in chunks of `chunk` bytes.
fn chunks(first: ImportRequest, data: &[u8], chunk: usize) -> Vec<ImportRequest> {
    let mut requests = vec![first];
    requests.extend(data.chunks(chunk).map(|c| ImportRequest { item: Some(Item::Chunk(c.to_vec())) }));
    requests
}

async fn import(client: &mut Client, requests: Vec<ImportRequest>) -> Result<ImportSummary, tonic::Status> {
    client.import(tokio_stream::iter(requests)).await.map(|r| r.into_inner())
}

async fn export(client: &mut Client, request: ExportRequest) -> Vec<u8> {
    let mut stream = client.export(request).await.unwrap().into_inner();
    let mut data = Vec::new();
    while let Some(chunk) = stream.message().await.unwrap() {
        data.extend_from_slice(&chunk.data);
    }
    data
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tmx").join(name)).unwrap()
}

/// Lookups are answered while an import is in progress, and see what it has
/// stored so far: the order of events is forced by holding the Import stream
/// open after its first 6,000 lines (more than one batch of the pipeline),
/// so the import cannot have finished when the lookups run.
#[tokio::test]
async fn lookups_are_answered_and_see_stored_batches_while_an_import_is_still_open() {
    let server = Server::on_temp_db();
    let mut client = server.client().await;
    let tsv = std::fs::read(corpus_dir().join("tatoeba.tsv")).expect("the corpus (data/corpus)");
    let lines: Vec<&[u8]> = tsv.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
    let (head, tail) = lines.split_at(6_000);
    let joined = |part: &[&[u8]]| part.iter().flat_map(|l| l.iter().copied().chain([b'\n'])).collect::<Vec<u8>>();
    let (sender, receiver) = tokio::sync::mpsc::channel(1_000);
    for request in chunks(options("tsv", "everyday"), &joined(head), 7_777) {
        sender.send(request).await.unwrap();
    }
    let mut importer = server.client().await;
    let import = tokio::spawn(async move {
        importer.import(tokio_stream::wrappers::ReceiverStream::new(receiver)).await.map(|r| r.into_inner())
    });

    // Wait (no clock involved) until the first batch is stored: the stream
    // is still open, so the import is in progress.
    let (first_ar, first_en) = read_pairs("tatoeba.tsv").remove(0);
    let mut looker = server.client().await;
    let mut lookups_during_import = 0;
    loop {
        let stored = looker.stats(StatsRequest {}).await.unwrap().into_inner().total_units;
        let request = LookupRequest { text: first_ar.clone(), source_lang: "ar".into(), ..Default::default() };
        let matches = looker.lookup(request).await.unwrap().into_inner().matches;
        lookups_during_import += 1;
        assert!(!import.is_finished(), "the import ended although its stream is still open");
        if stored > 0 {
            assert!(stored <= head.len() as u64, "stored {stored} of {} lines sent", head.len());
            // The first line is in the first stored batch (several
            // translations of one sentence cost it a point).
            assert!(
                matches.iter().any(|m| m.target == first_en && m.score >= 99),
                "the first line, stored, is not found while the import runs: {matches:?}"
            );
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(lookups_during_import > 0);

    // Then the rest of the file; the import ends with every line counted.
    for request in joined(tail).chunks(7_777) {
        sender.send(ImportRequest { item: Some(Item::Chunk(request.to_vec())) }).await.unwrap();
    }
    drop(sender);
    let summary = import.await.unwrap().unwrap();
    assert_eq!(summary.read, lines.len() as u64);
    assert_eq!(summary.added + summary.duplicates + summary.rejected, lines.len() as u64, "{summary:?}");
    let stats = client.stats(StatsRequest {}).await.unwrap().into_inner();
    assert_eq!(stats.total_units, summary.added);
}

#[tokio::test]
async fn a_corpus_imported_over_grpc_exports_and_reimports_identically() {
    let server = Server::on_temp_db();
    let mut client = server.client().await;
    let tsv = std::fs::read(corpus_dir().join("ntrex128.tsv")).expect("the corpus (data/corpus)");
    let lines = tsv.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count() as u64;
    let summary = import(&mut client, chunks(options("tsv", "news"), &tsv, 7_777)).await.unwrap();
    assert_eq!(summary.read, lines);
    assert_eq!(summary.added + summary.duplicates, lines);
    assert!(summary.added > 1_300, "{summary:?}");

    // The export, imported on a second server, gives the same units back.
    let tmx = export(&mut client, ExportRequest { memories: vec!["news".into()], ..Default::default() }).await;
    assert!(tmx.starts_with(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    let other = Server::on_temp_db();
    let mut other_client = other.client().await;
    let again = import(&mut other_client, chunks(options("", ""), &tmx, 65_536)).await.unwrap();
    assert_eq!((again.added, again.rejected, again.encoding.as_str()), (summary.added, 0, "UTF-8"));
    let stats = other_client.stats(StatsRequest {}).await.unwrap().into_inner();
    assert_eq!((stats.memories[0].name.as_str(), stats.total_units), ("news", summary.added));
    let tmx_again = export(&mut other_client, ExportRequest::default()).await;
    assert_eq!(tmx_again, tmx);

    // Importing the same file again changes nothing.
    let same = import(&mut client, chunks(options("tsv", "news"), &tsv, 65_536)).await.unwrap();
    assert_eq!((same.added, same.updated, same.duplicates), (0, 0, lines));
}

#[tokio::test]
async fn a_utf16_tmx_with_markup_keeps_it_over_grpc() {
    let server = Server::on_temp_db();
    let mut client = server.client().await;
    let summary = import(&mut client, chunks(options("", "tagged"), &fixture("inline_tags.tmx"), 100)).await.unwrap();
    assert_eq!((summary.added, summary.rejected), (3, 0));
    let matches = client
        .lookup(LookupRequest {
            text: "The Bells of St. Martin's Fall Silent as Churches in Harlem Struggle".into(),
            source_lang: "en".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .matches;
    assert_eq!(matches[0].score, 100);
    let unit = client.get_unit(GetUnitRequest { unit_id: matches[0].unit_id }).await.unwrap().into_inner();
    assert_eq!(unit.tuid, "paired");
    let offsets: Vec<u32> = unit.english_markup.iter().map(|t| t.offset).collect();
    assert_eq!(offsets, [13, 25, 37, 53, 59]);
    assert_eq!(unit.english_markup[0].content, "&lt;b&gt;");

    let summary = import(&mut client, chunks(options("tmx", "utf16"), &fixture("utf16le_bom.tmx"), 333)).await.unwrap();
    assert_eq!(summary.encoding, "UTF-16LE");
    assert!(summary.added >= 1);
}

#[tokio::test]
async fn units_import_applies_the_policy_and_rejects_bad_units_alone() {
    let server = Server::on_temp_db();
    let mut client = server.client().await;
    let first = ImportRequest {
        item: Some(Item::Options(ImportOptions {
            policy: DuplicatePolicy::Overwrite as i32,
            source_lang: "en".into(),
            ..Default::default()
        })),
    };
    let batch = |units| ImportRequest { item: Some(Item::Units(UnitBatch { units })) };
    let summary = import(
        &mut client,
        vec![
            first.clone(),
            batch(vec![unit("مرحبا", "Hello", "m"), unit("", "Empty", "m")]),
            batch(vec![unit("أهلا", "Hello", "m"), unit("شكرا", "Thanks", "bad name")]),
        ],
    )
    .await
    .unwrap();
    assert_eq!((summary.read, summary.added, summary.updated, summary.rejected), (4, 1, 1, 2));
    let rejected: Vec<(u64, &str)> = summary.rejections.iter().map(|r| (r.line, r.reason.as_str())).collect();
    assert_eq!(rejected[0], (2, "arabic: must not be empty"));
    assert_eq!(rejected[1].0, 4);
    assert!(rejected[1].1.starts_with("memory: "), "{}", rejected[1].1);
    let stats = client.stats(StatsRequest {}).await.unwrap().into_inner();
    assert_eq!(stats.total_units, 1);

    // A message over the limit stops the import, naming it.
    let many = (0..10_001).map(|i| unit(&format!("جملة {i}"), &format!("sentence {i}"), "m")).collect();
    let status = import(&mut client, vec![first, batch(many)]).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().starts_with("the import stopped: units: 10001 units in one message; the limit is 10000"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn broken_xml_answers_invalid_argument_with_the_position_and_the_summary() {
    let server = Server::on_temp_db();
    let mut client = server.client().await;
    let status =
        import(&mut client, chunks(options("", "m"), &fixture("broken_mismatched.tmx"), 50)).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().starts_with("the import stopped: line 20, column 35: "), "{}", status.message());
    assert!(status.message().contains("stored before it: 3 added"), "{}", status.message());
    let summary = ImportSummary::decode(status.details()).unwrap();
    assert_eq!(summary.added, 3);
    assert_eq!(client.stats(StatsRequest {}).await.unwrap().into_inner().total_units, 3);

    // Requests that are wrong from the start.
    let status = import(&mut client, vec![]).await.unwrap_err();
    assert_eq!((status.code(), status.message()), (Code::InvalidArgument, "options: the import stream is empty"));
    let chunk_first = ImportRequest { item: Some(Item::Chunk(b"x".to_vec())) };
    let status = import(&mut client, vec![chunk_first]).await.unwrap_err();
    assert!(status.message().starts_with("options: the first message"), "{}", status.message());
    let bad = ImportOptions { source_lang: "fr".into(), ..Default::default() };
    let status = import(&mut client, vec![ImportRequest { item: Some(Item::Options(bad)) }]).await.unwrap_err();
    assert!(status.message().starts_with("options.source_lang: unknown language \"fr\""), "{}", status.message());
    let status =
        client.export(ExportRequest { memories: vec!["no space".into()], ..Default::default() }).await.unwrap_err();
    assert!(status.message().starts_with("memories[0]: memory name"), "{}", status.message());
    // A memory that does not exist is NOT_FOUND, as in a lookup.
    let request = ExportRequest { memories: vec!["m".into(), "typo".into()], ..Default::default() };
    let status = client.export(request).await.unwrap_err();
    assert_eq!((status.code(), status.message()), (Code::NotFound, "memories[1]: no memory is named \"typo\""));
}
