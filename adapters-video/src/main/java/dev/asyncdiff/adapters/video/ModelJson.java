package dev.asyncdiff.adapters.video;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.asyncdiff.api.MalformedModelException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reading a folder's JSON files. */
final class ModelJson {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private ModelJson() {
    }

    /**
     * The JSON of {@code file}.
     *
     * @throws MalformedModelException naming the file when it is not readable JSON
     */
    static JsonNode read(Path file) {
        try {
            return MAPPER.readTree(file.toFile());
        } catch (IOException e) {
            throw new MalformedModelException(file, "is not readable JSON: " + e.getMessage(), e);
        }
    }

    /** The JSON of {@code file}, or an empty object when there is no such file. */
    static JsonNode optional(Path file) {
        return Files.isRegularFile(file) ? read(file) : MAPPER.createObjectNode();
    }
}
