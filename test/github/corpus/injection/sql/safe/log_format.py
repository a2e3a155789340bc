import logging

def report(logger, name):
    logger.info(f"exporting {name}")
    message = "user %s exported" % name
    return message
