// Reason code names for log lines, and the MQTT 5 -> 3.1.1 CONNACK mapping.
#include "mqtt/reason_codes.hpp"

namespace roost::mqtt {

std::string_view reason_name(ReasonCode code) {
    switch (code) {
        case ReasonCode::Success:
            return "Success";
        case ReasonCode::GrantedQos1:
            return "Granted QoS 1";
        case ReasonCode::GrantedQos2:
            return "Granted QoS 2";
        case ReasonCode::DisconnectWithWill:
            return "Disconnect with Will Message";
        case ReasonCode::NoMatchingSubscribers:
            return "No matching subscribers";
        case ReasonCode::NoSubscriptionExisted:
            return "No subscription existed";
        case ReasonCode::ContinueAuthentication:
            return "Continue authentication";
        case ReasonCode::ReAuthenticate:
            return "Re-authenticate";
        case ReasonCode::UnspecifiedError:
            return "Unspecified error";
        case ReasonCode::MalformedPacket:
            return "Malformed Packet";
        case ReasonCode::ProtocolError:
            return "Protocol Error";
        case ReasonCode::ImplementationSpecificError:
            return "Implementation specific error";
        case ReasonCode::UnsupportedProtocolVersion:
            return "Unsupported Protocol Version";
        case ReasonCode::ClientIdentifierNotValid:
            return "Client Identifier not valid";
        case ReasonCode::BadUserNameOrPassword:
            return "Bad User Name or Password";
        case ReasonCode::NotAuthorized:
            return "Not authorized";
        case ReasonCode::ServerUnavailable:
            return "Server unavailable";
        case ReasonCode::ServerBusy:
            return "Server busy";
        case ReasonCode::Banned:
            return "Banned";
        case ReasonCode::ServerShuttingDown:
            return "Server shutting down";
        case ReasonCode::BadAuthenticationMethod:
            return "Bad authentication method";
        case ReasonCode::KeepAliveTimeout:
            return "Keep Alive timeout";
        case ReasonCode::SessionTakenOver:
            return "Session taken over";
        case ReasonCode::TopicFilterInvalid:
            return "Topic Filter invalid";
        case ReasonCode::TopicNameInvalid:
            return "Topic Name invalid";
        case ReasonCode::PacketIdentifierInUse:
            return "Packet Identifier in use";
        case ReasonCode::PacketIdentifierNotFound:
            return "Packet Identifier not found";
        case ReasonCode::ReceiveMaximumExceeded:
            return "Receive Maximum exceeded";
        case ReasonCode::TopicAliasInvalid:
            return "Topic Alias invalid";
        case ReasonCode::PacketTooLarge:
            return "Packet too large";
        case ReasonCode::MessageRateTooHigh:
            return "Message rate too high";
        case ReasonCode::QuotaExceeded:
            return "Quota exceeded";
        case ReasonCode::AdministrativeAction:
            return "Administrative action";
        case ReasonCode::PayloadFormatInvalid:
            return "Payload format invalid";
        case ReasonCode::RetainNotSupported:
            return "Retain not supported";
        case ReasonCode::QosNotSupported:
            return "QoS not supported";
        case ReasonCode::UseAnotherServer:
            return "Use another server";
        case ReasonCode::ServerMoved:
            return "Server moved";
        case ReasonCode::SharedSubscriptionsNotSupported:
            return "Shared Subscriptions not supported";
        case ReasonCode::ConnectionRateExceeded:
            return "Connection rate exceeded";
        case ReasonCode::MaximumConnectTime:
            return "Maximum connect time";
        case ReasonCode::SubscriptionIdentifiersNotSupported:
            return "Subscription Identifiers not supported";
        case ReasonCode::WildcardSubscriptionsNotSupported:
            return "Wildcard Subscriptions not supported";
    }
    // A value outside the enum (cast from a wire byte): name it rather than crash.
    return "Unknown reason code";
}

ConnackReturnCode311 to_connack_311(ReasonCode code) {
    switch (code) {
        case ReasonCode::Success:
            return ConnackReturnCode311::Accepted;
        case ReasonCode::UnsupportedProtocolVersion:
            return ConnackReturnCode311::UnacceptableProtocolVersion;
        case ReasonCode::ClientIdentifierNotValid:
            return ConnackReturnCode311::IdentifierRejected;
        case ReasonCode::ServerUnavailable:
        case ReasonCode::ServerBusy:
            return ConnackReturnCode311::ServerUnavailable;
        case ReasonCode::BadUserNameOrPassword:
            return ConnackReturnCode311::BadUserNameOrPassword;
        case ReasonCode::NotAuthorized:
        case ReasonCode::Banned:
        case ReasonCode::BadAuthenticationMethod:
            // Refusals of this client, not failures of the server: 3.1.1 calls them all this.
            return ConnackReturnCode311::NotAuthorized;
        default:
            // 3.1.1 has no finer codes; "server unavailable" tells the client to try later
            // without blaming its identifier or credentials.
            return ConnackReturnCode311::ServerUnavailable;
    }
}

}  // namespace roost::mqtt
