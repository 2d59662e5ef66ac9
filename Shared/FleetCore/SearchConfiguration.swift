import Config
import Contracts
import Foundation

/// `[search]`: the audit index of `search` actions.
public struct SearchConfiguration: Sendable {
    /// `elasticsearch_url`: use Elasticsearch's bulk API instead of the PostgreSQL full-text table;
    /// a secret (`_env`, `_file`) since it may carry credentials.
    public var elasticsearchURL: Secret?
    /// `index`: default index name. Default `fraiseql-audit`.
    public var index = "fraiseql-audit"

    public init(_ scope: ConfigScope) throws(ConfigError) {
        elasticsearchURL = try scope.secret("elasticsearch_url")
        index = try scope.string("index", default: index)
    }
}
