package main

// Hand-written message types for husk.test.v1 (see proto/husk/test/v1/echo.proto). gogo/protobuf
// marshals any struct with protobuf field tags and these three methods, which is all ttrpc's codec
// needs; no generated code is involved.

import "github.com/gogo/protobuf/proto"

// EchoRequest is husk.test.v1.EchoRequest.
type EchoRequest struct {
	Text        string `protobuf:"bytes,1,opt,name=text,proto3" json:"text,omitempty"`
	SleepMs     uint32 `protobuf:"varint,2,opt,name=sleep_ms,json=sleepMs,proto3" json:"sleep_ms,omitempty"`
	FailCode    int32  `protobuf:"varint,3,opt,name=fail_code,json=failCode,proto3" json:"fail_code,omitempty"`
	FailMessage string `protobuf:"bytes,4,opt,name=fail_message,json=failMessage,proto3" json:"fail_message,omitempty"`
}

func (m *EchoRequest) Reset()         { *m = EchoRequest{} }
func (m *EchoRequest) String() string { return proto.CompactTextString(m) }
func (*EchoRequest) ProtoMessage()    {}

// EchoResponse is husk.test.v1.EchoResponse.
type EchoResponse struct {
	Text        string   `protobuf:"bytes,1,opt,name=text,proto3" json:"text,omitempty"`
	Metadata    []string `protobuf:"bytes,2,rep,name=metadata,proto3" json:"metadata,omitempty"`
	TimeoutNano int64    `protobuf:"varint,3,opt,name=timeout_nano,json=timeoutNano,proto3" json:"timeout_nano,omitempty"`
}

func (m *EchoResponse) Reset()         { *m = EchoResponse{} }
func (m *EchoResponse) String() string { return proto.CompactTextString(m) }
func (*EchoResponse) ProtoMessage()    {}
