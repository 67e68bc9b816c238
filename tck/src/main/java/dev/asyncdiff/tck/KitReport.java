package dev.asyncdiff.tck;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The results of a kit run, as JSON or Markdown.
 *
 * @param adapter the adapter checked
 * @param model   the model folder
 * @param results one result per check, in order
 */
public record KitReport(String adapter, String model, List<CheckResult> results) {
    public KitReport {
        results = List.copyOf(results);
    }

    /** Whether no check failed. */
    public boolean passed() {
        return results.stream().noneMatch(r -> r.status() == CheckResult.Status.FAILED);
    }

    /** {@code {"adapter":…,"model":…,"passed":…,"checks":[{"check":…,"status":…,"message":…,"figures":{…}}]}}. */
    public String toJson() {
        ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = mapper.createObjectNode().put("adapter", adapter).put("model", model).put("passed", passed());
        ArrayNode checks = root.putArray("checks");
        for (CheckResult result : results) {
            ObjectNode check = checks.addObject().put("check", result.check().id())
                    .put("status", result.status().name().toLowerCase(Locale.ROOT)).put("message", result.message());
            check.set("figures", mapper.valueToTree(result.figures()));
        }
        try {
            return mapper.writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write the kit report as JSON", e);
        }
    }

    /** A Markdown table of the checks followed by each check's figures. */
    public String toMarkdown() {
        StringBuilder md = new StringBuilder();
        md.append("# AsyncDiff compatibility kit: ").append(adapter).append("\n\n");
        md.append("Model: `").append(model).append("` — ").append(passed() ? "**passed**" : "**failed**").append("\n\n");
        md.append("| check | status | message |\n|---|---|---|\n");
        for (CheckResult result : results) {
            md.append("| ").append(result.check().id()).append(" | ").append(result.status().name().toLowerCase(Locale.ROOT))
                    .append(" | ").append(escape(result.message())).append(" |\n");
        }
        for (CheckResult result : results) {
            if (result.figures().isEmpty()) {
                continue;
            }
            md.append("\n## ").append(result.check().id()).append("\n\n| figure | value |\n|---|---|\n");
            for (Map.Entry<String, Object> figure : result.figures().entrySet()) {
                md.append("| ").append(escape(figure.getKey())).append(" | ").append(escape(format(figure.getValue())))
                        .append(" |\n");
            }
        }
        return md.toString();
    }

    private static String format(Object value) {
        return value instanceof Double d ? String.format(Locale.ROOT, "%.6g", d) : String.valueOf(value);
    }

    private static String escape(String text) {
        return text == null ? "" : text.replace("|", "\\|").replace("\n", " ");
    }
}
