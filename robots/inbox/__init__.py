"""The document-inbox robot: `robots.inbox.robot` reads, classifies and extracts documents and
proposes each invoice to the Gate (`DocumentRobot`, `DocumentResult`); `robots.inbox.models`
holds the models one worker loads once (`DocumentModels`, `fit_document_models`). Nothing is
imported here: import the module you need.
"""
