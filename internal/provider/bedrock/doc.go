// Package bedrock translates to and from Amazon Bedrock Runtime's Converse
// API (POST /model/{modelId}/converse and /converse-stream), which Sluice
// only ever speaks as an upstream: no client speaks Bedrock to Sluice.
//
// It holds three things:
//
//   - ConverseCodec, the canon.Codec of Converse: EncodeRequest writes a
//     canonical request as a Converse body (the model id goes in the URL:
//     UpstreamPath), DecodeReply and NewDecoder read replies and
//     ConverseStream events, DecodeError reads error replies. Its
//     DecodeRequest, EncodeReply and NewEncoder are nil. TRANSLATION.md
//     lists every mapping rule and every field dropped or refused.
//   - EventReader, which reads the AWS event stream (binary messages with
//     CRCs) a ConverseStream reply is framed in, with the AWS SDK's
//     decoder, into (event name, JSON payload) pairs for the Decoder.
//   - Signer, which signs requests with AWS Signature Version 4 using the
//     AWS SDK's signer, with static Credentials (CredentialsFromEnv reads
//     only the three AWS_* variables: no profile, metadata or network).
//
// Failure modes: EncodeRequest refuses with a *canon.FieldError what
// Converse cannot carry and the request depends on; DecodeReply returns
// canon.ErrInvalidJSON for a body that is not JSON; the stream Decoder
// turns an exception event into canon.EvError; EventReader.Next fails on a
// message that is truncated, too large or whose checksum does not match,
// which ends the stream; Sign fails without credentials.
package bedrock
