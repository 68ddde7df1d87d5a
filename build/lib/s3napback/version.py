# The engine's version, written into every manifest; kept equal to galaxy.yml's by a unit test.
VERSION = "0.1.0"
