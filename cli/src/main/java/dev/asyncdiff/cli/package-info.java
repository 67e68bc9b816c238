/**
 * The {@code asyncdiff} command line: a picocli root command ({@link dev.asyncdiff.cli.AsyncDiffCommand})
 * with one {@link java.util.concurrent.Callable} per subcommand, shared runtime options
 * ({@link dev.asyncdiff.cli.RuntimeOptions}) and one error line per failure. This module alone picks
 * an SLF4J binding (slf4j-simple, warnings and errors on stderr).
 */
package dev.asyncdiff.cli;
