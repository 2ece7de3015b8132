"""China UnionPay POS ISO 8583: spec, framing, masking, traffic analysis, host and terminal simulators.

Pure modules (no I/O): ``spec`` (the field table as data), ``codec`` (frames ⇄ :class:`Message`,
one error type :class:`~posops.iso8583.errors.FrameError`), ``safe`` (the masked, named and
explained view everything shown goes through), ``naming``, ``response_codes``, ``keys``
(working keys and check values), ``mac`` (ANSI X9.19), ``masking``, ``tlv``, ``framing``
(cutting a byte stream into frames) and ``analysis`` (streaming traffic analysis).
Edges: ``logs`` and ``pcap`` read frames from files, ``acquirer_sim`` and ``terminal_sim``
speak the protocol over TCP, ``cli`` holds the commands.
Storage and the web: ``models`` (imported analyses per terminal), ``service`` (decode, import,
latest traffic, diagnosis evidence), ``api``, ``views`` and ``uploads`` (spooling an upload to a
private temporary file that is never kept).
"""
